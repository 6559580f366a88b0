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

// `specs` with `more` appended.
std::vector<OptionSpec> with(std::vector<OptionSpec> specs, const std::vector<OptionSpec>& more);

// Parses argv; fills `positional`. Returns -1 to go on, else an exit code
// (0 after --help, 1 after an error). `help` is printed for --help.
int parse_options(int argc, char** argv, const char* prog, const char* help,
                  const std::vector<OptionSpec>& specs, std::vector<std::string>& positional);

// --header 'Name: value', repeatable, for every command that reads an image:
// sent with each HTTP request (tokens); the value is never printed.
OptionSpec header_option(const char* prog, SourceOptions& into);

// --backing-dir DIR (repeatable), --allow-device-backing and --no-backing,
// for every command that reads an image: what its backing and data files
// may be (SourceOptions::references; README "Security").
std::vector<OptionSpec> reference_options(const char* prog, SourceOptions& into);

// --output=human|json for the commands that describe an image.
OptionSpec output_option(const char* prog, bool& json);

}  // namespace qflash::cli
