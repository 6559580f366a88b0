// Option parsing shared by the subcommands: getopt_long with GNU argument
// permutation, plus the options every command has (--debug, -h/--help,
// -V/--version). A command with --output also takes --json, its alias.
#pragma once

#include <getopt.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "io/base/debug.h"
#include "io/base/sha256.h"
#include "io/source.h"

namespace qflash::cli {

struct OptionSpec {
  const char* name;
  bool has_arg;
  std::function<bool(const char* arg)> handle;  // false: bad value (already reported)
  char short_name = 0;                          // e.g. 'y' for --yes; 0: none
};

// The tools' log sink: warnings as "PROG: warning: ...", debug lines as
// "debug: ..." on stderr. parse_options sets it for warnings, and for debug
// lines too on --debug.
LogSink stderr_log_sink(const char* prog);

// Parses argv; fills `positional`. Returns -1 to go on, else an exit code
// (0 after --help or --version, 1 after an error). `help` is printed for --help.
int parse_options(int argc, char** argv, const char* prog, const char* help,
                  const std::vector<OptionSpec>& specs, std::vector<std::string>& positional);

// The options of every command that reads an image, for HTTP(S) images:
// --header 'Name: value' or --header @FILE (one header a line; '#' starts a
// comment), repeatable, sent with each request to the image's origin, the
// value never printed; --netrc, --netrc-file FILE; --proxy URL;
// --allow-origin ORIGIN (repeatable).
std::vector<OptionSpec> http_options(const char* prog, SourceOptions& into);

// --backing-dir DIR (repeatable), --allow-device-backing and --no-backing,
// for every command that reads an image: what its backing and data files
// may be (SourceOptions::references; README "Security").
std::vector<OptionSpec> reference_options(const char* prog, SourceOptions& into);

// `specs`, http_options(prog, into), reference_options(prog, into), and the
// options for raw images: --bmap FILE, --no-bmap, --image-size SIZE
// (io/stream, engine/bmap). Every command that reads an image takes them.
std::vector<OptionSpec> with_image_options(std::vector<OptionSpec> specs, const char* prog,
                                           SourceOptions& into);

// The help lines of http_options, to paste into a command's help.
#define QFLASH_HTTP_OPTIONS_HELP                                                          \
  "      --header=H       'Name: value' sent with every HTTP request to the image's\n"   \
  "                       origin (repeatable); --header=@FILE reads them from FILE\n"    \
  "      --netrc          credentials for the image's host from ~/.netrc\n"            \
  "      --netrc-file=F   ... from F instead\n"                                        \
  "      --proxy=URL      HTTP proxy (default: http_proxy, https_proxy, no_proxy)\n"    \
  "      --allow-origin=O let redirects and backing files reach origin O\n"           \
  "                       (scheme://host[:port]); no headers or credentials go there\n"

// The help lines of with_image_options.
#define QFLASH_IMAGE_OPTIONS_HELP                                                          \
  QFLASH_HTTP_OPTIONS_HELP                                                                 \
  "      --bmap=FILE      bmap of a raw image: only its mapped ranges are read,\n"        \
  "                       each checked against its checksum (default: IMAGE.bmap\n"      \
  "                       beside a local image, as bmaptool finds it)\n"                 \
  "      --no-bmap        ignore a bmap beside the image\n"                              \
  "      --image-size=SIZE  size of a stream that says it only at its end (checked)\n"   \
  "      --backing-dir=DIR  backing and data files may also lie under DIR (repeatable)\n" \
  "      --allow-device-backing  block devices as backing or data files\n"              \
  "      --no-backing     refuse any image that names a backing or data file\n"

// A whole number from `low` to `high` for option --`name` (--jobs, --count),
// into `out`; else an error on stderr and false.
bool parse_whole_number(const char* prog, const char* name, const char* text, uint64_t low,
                        uint64_t high, uint64_t& out);

// --output=human|json (alias --json) for every command with a report.
OptionSpec output_option(const char* prog, bool& json);

// The image's published digest: --sha256=HEX into `digest`, and
// --checksums=FILE (a SHA256SUMS file) into `checksums`, to be looked up
// with image_digest_from() once the image is known.
std::vector<OptionSpec> digest_options(const char* prog, std::optional<Sha256::Digest>& digest,
                                       std::string& checksums);
// `image`'s digest from the SHA256SUMS file `checksums` (by the image's
// file name) into `digest`; an error if the file cannot be read, lists none
// for it, or names another digest than --sha256 did.
Status image_digest_from(const std::string& checksums, const std::string& image,
                         std::optional<Sha256::Digest>& digest);

}  // namespace qflash::cli
