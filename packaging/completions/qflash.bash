# bash completion for qflash and qflash-mass (installed under both names).
_qflash() {
  local cur prev words cword
  _init_completion -s || return
  local flash="--yes -y --verify --output --json --sparse --memory --jobs --queue-depth --header --debug --help -h --version -V --sector-size"
  local describe="--output --json --header --debug --help -h --version -V"
  local opts cmd
  if [[ $1 == qflash-mass || ${words[0]##*/} == qflash-mass ]]; then
    cmd=mass
  else
    if ((cword == 1)); then
      COMPREPLY=($(compgen -W "info map read write partitions station --help --version" -- "$cur"))
      return
    fi
    cmd=${words[1]}
  fi
  case $prev in
    --output) COMPREPLY=($(compgen -W "human json" -- "$cur")); return ;;
    --sector-size) COMPREPLY=($(compgen -W "512 4096" -- "$cur")); return ;;
    --memory|--jobs|--queue-depth|--offset|--length|--header|--partition|--count) return ;;
    --slot-names|--log) _filedir; return ;;
  esac
  case $cmd in
    mass) opts="$flash --partition" ;;
    write) opts="$flash --partition" ;;
    station) opts="--slot --slot-names --no-verify --count --events --log --memory --jobs --queue-depth --header --debug --help" ;;
    read) opts="--offset --length --header --debug --help" ;;
    partitions) opts="$describe --sector-size" ;;
    *) opts="$describe" ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
  else
    _filedir
  fi
}
complete -F _qflash qflash qflash-mass
