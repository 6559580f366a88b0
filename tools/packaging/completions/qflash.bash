# bash completion for qflash and qflash-mass (installed under both names).
# Plain bash: it needs nothing from the bash-completion package.
_qflash() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  # "--output=j": bash splits at "=", so the option is two words back.
  if [[ $cur == = ]]; then
    cur=""
  fi
  if [[ $prev == = ]]; then
    prev=${COMP_WORDS[COMP_CWORD-2]}
  fi
  local flash="--yes -y --verify --output= --json --sparse --memory= --jobs= --queue-depth= --header= --sector-size= --debug --help -h --version -V"
  local describe="--output= --json --header= --debug --help -h --version -V"
  local opts cmd
  if [[ ${COMP_WORDS[0]##*/} == qflash-mass ]]; then
    cmd=mass
  else
    if ((COMP_CWORD == 1)); then
      COMPREPLY=($(compgen -W "info map read write partitions station --help --version" -- "$cur"))
      return
    fi
    cmd=${COMP_WORDS[1]}
  fi
  case $prev in
    --output) COMPREPLY=($(compgen -W "human json" -- "$cur")); return ;;
    --sector-size) COMPREPLY=($(compgen -W "512 4096" -- "$cur")); return ;;
    --memory|--jobs|--queue-depth|--offset|--length|--header|--partition|--count|--slot) return ;;
  esac
  case $cmd in
    mass|write) opts="$flash --partition=" ;;
    station) opts="--slot= --slot-names= --no-verify --count= --events --log= --sha256= --checksums= --memory= --jobs= --queue-depth= --header= --debug --help" ;;
    read) opts="--offset= --length= --header= --debug --help" ;;
    partitions) opts="$describe --sector-size=" ;;
    *) opts="$describe" ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    [[ ${#COMPREPLY[@]} == 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace
  else
    compopt -o filenames
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _qflash qflash qflash-mass
