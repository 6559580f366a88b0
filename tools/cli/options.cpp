#include "tools/cli/options.h"

#include <cstdio>

#include "qflash/qflash.h"

namespace qflash::cli {

LogSink stderr_log_sink(const char* prog) {
  return [prog](LogLevel level, std::string_view line) {
    if (level == LogLevel::Debug)
      std::fprintf(stderr, "debug: %.*s\n", int(line.size()), line.data());
    else
      std::fprintf(stderr, "%s: warning: %.*s\n", prog, int(line.size()), line.data());
  };
}

int parse_options(int argc, char** argv, const char* prog, const char* help,
                  const std::vector<OptionSpec>& specs, std::vector<std::string>& positional) {
  std::vector<option> longopts;
  std::string shorts = "-:hV";  // "-": positionals in order; ":": report a missing value
  for (size_t i = 0; i < specs.size(); ++i) {
    longopts.push_back({specs[i].name, specs[i].has_arg ? required_argument : no_argument, nullptr,
                        int(1000 + i)});
    // --json is the older spelling of --output=json.
    if (std::string(specs[i].name) == "output")
      longopts.push_back({"json", no_argument, nullptr, int(2000 + i)});
    if (specs[i].short_name) {
      shorts += specs[i].short_name;
      if (specs[i].has_arg) shorts += ':';
    }
  }
  longopts.push_back({"debug", no_argument, nullptr, 'd'});
  longopts.push_back({"help", no_argument, nullptr, 'h'});
  longopts.push_back({"version", no_argument, nullptr, 'V'});
  longopts.push_back({nullptr, 0, nullptr, 0});
  set_log_sink(stderr_log_sink(prog), LogLevel::Warning);
  optind = 0;  // reset getopt for this argv
  opterr = 0;
  int c;
  // Positionals come back in order as code 1, so options may stand
  // anywhere; after "--" the rest is left in argv from optind.
  while ((c = getopt_long(argc, argv, shorts.c_str(), longopts.data(), nullptr)) != -1) {
    if (c == 'h') {
      std::fputs(help, stdout);
      return 0;
    }
    if (c == 'V') {
      std::printf("qflash %s\n", version());
      return 0;
    }
    if (c == 'd') {
      set_log_sink(stderr_log_sink(prog), LogLevel::Debug);
      continue;
    }
    if (c == '?' || c == ':') {
      std::fprintf(stderr, "%s: %s '%s'\n%s", prog,
                   c == ':' ? "missing value for" : "unknown option", argv[optind - 1], help);
      return 1;
    }
    if (c == 1) {
      positional.push_back(optarg);
      continue;
    }
    if (c >= 2000) {
      if (!specs[size_t(c - 2000)].handle("json")) return 1;
      continue;
    }
    size_t index = size_t(c - 1000);
    if (c < 1000)  // a short option
      for (index = 0; specs[index].short_name != c; ++index) {
      }
    if (!specs[index].handle(optarg)) return 1;
  }
  for (int i = optind; i < argc; ++i) positional.push_back(argv[i]);
  return -1;
}

OptionSpec header_option(const char* prog, SourceOptions& into) {
  return {"header", true, [prog, &into](const char* arg) {
            std::string h = arg;
            size_t colon = h.find(':');
            // A name without blanks, and nothing that could smuggle in another header.
            bool ok = colon != std::string::npos && colon > 0 && h.find_first_of(" \t") > colon &&
                      h.find_first_of("\r\n") == std::string::npos;
            if (!ok) std::fprintf(stderr, "%s: --header wants 'Name: value'\n", prog);
            else into.http_headers.push_back(h);
            return ok;
          }};
}

OptionSpec output_option(const char* prog, bool& json) {
  return {"output", true, [prog, &json](const char* v) {
            json = std::string(v) == "json";
            if (json || std::string(v) == "human") return true;
            std::fprintf(stderr, "%s: --output is human or json\n", prog);
            return false;
          }};
}

}  // namespace qflash::cli
