// Option parsing shared by the subcommands: getopt_long with GNU argument
// permutation, plus the options every command has (--debug, -h/--help,
// -V/--version). A command with --output also takes --json, its alias.
#pragma once

#include <getopt.h>

#include <functional>
#include <string>
#include <vector>

#include "io/base/debug.h"
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

// --header 'Name: value', repeatable, for every command that reads an image:
// sent with each HTTP request (tokens); the value is never printed.
OptionSpec header_option(const char* prog, SourceOptions& into);

// --output=human|json (alias --json) for every command with a report.
OptionSpec output_option(const char* prog, bool& json);

}  // namespace qflash::cli
