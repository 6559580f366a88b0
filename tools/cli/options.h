// Option parsing shared by the subcommands: getopt_long with GNU argument
// permutation, plus the options every command has (--debug, --help).
#pragma once

#include <getopt.h>

#include <functional>
#include <string>
#include <vector>

#include "io/source.h"

namespace qflash::cli {

struct OptionSpec {
  const char* name;
  bool has_arg;
  std::function<bool(const char* arg)> handle;  // false: bad value (already reported)
};

// Parses argv; fills `positional`. Returns -1 to go on, else an exit code
// (0 after --help, 1 after an error). `help` is printed for --help.
int parse_options(int argc, char** argv, const char* prog, const char* help,
                  const std::vector<OptionSpec>& specs, std::vector<std::string>& positional);

// --header 'Name: value', repeatable, for every command that reads an image:
// sent with each HTTP request (tokens); the value is never printed.
OptionSpec header_option(const char* prog, SourceOptions& into);

// `specs` and the options for raw images every command that reads an image
// has: --bmap FILE, --no-bmap, --image-size SIZE (io/stream, engine/bmap).
std::vector<OptionSpec> with_image_options(std::vector<OptionSpec> specs, const char* prog,
                                           SourceOptions& into);

// --output=human|json for the commands that describe an image.
OptionSpec output_option(const char* prog, bool& json);

}  // namespace qflash::cli
