#include "tools/cli/options.h"

#include <cstdio>
#include <filesystem>

#include "io/base/debug.h"

namespace qflash::cli {

int parse_options(int argc, char** argv, const char* prog, const char* help,
                  const std::vector<OptionSpec>& specs, std::vector<std::string>& positional) {
  std::vector<option> longopts;
  for (size_t i = 0; i < specs.size(); ++i)
    longopts.push_back({specs[i].name, specs[i].has_arg ? required_argument : no_argument, nullptr,
                        int(1000 + i)});
  longopts.push_back({"debug", no_argument, nullptr, 'd'});
  longopts.push_back({"help", no_argument, nullptr, 'h'});
  longopts.push_back({nullptr, 0, nullptr, 0});
  optind = 0;  // reset getopt for this argv
  opterr = 0;
  int c;
  // "-": positionals come back in order as code 1, so options may stand
  // anywhere; after "--" the rest is left in argv from optind.
  while ((c = getopt_long(argc, argv, "-:h", longopts.data(), nullptr)) != -1) {
    if (c == 'h') {
      std::fputs(help, stdout);
      return 0;
    }
    if (c == 'd') {
      g_debug = true;
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
    const auto& spec = specs[size_t(c - 1000)];
    if (!spec.handle(optarg)) return 1;
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

std::vector<OptionSpec> with(std::vector<OptionSpec> specs, const std::vector<OptionSpec>& more) {
  specs.insert(specs.end(), more.begin(), more.end());
  return specs;
}

std::vector<OptionSpec> reference_options(const char* prog, SourceOptions& into) {
  return {
      {"backing-dir", true,
       [prog, &into](const char* dir) {
         std::error_code ec;
         if (!std::filesystem::is_directory(dir, ec)) {
           std::fprintf(stderr, "%s: --backing-dir wants a directory, not '%s'\n", prog, dir);
           return false;
         }
         into.references.dirs.push_back(dir);
         return true;
       }},
      {"allow-device-backing", false,
       [&into](const char*) { return into.references.allow_devices = true; }},
      {"no-backing", false, [&into](const char*) { return into.references.refuse_all = true; }},
  };
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
