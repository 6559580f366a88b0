#include "tools/cli/options.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/http/url.h"
#include "qflash/qflash.h"
#include "tools/cli/cli.h"

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

namespace {

// A header as --header takes it: a name without blanks, a colon, and
// nothing that could smuggle in another header.
bool valid_header(const std::string& h) {
  size_t colon = h.find(':');
  return colon != std::string::npos && colon > 0 && h.find_first_of(" \t") > colon &&
         h.find_first_of("\r\n") == std::string::npos;
}

// --header @FILE: one header a line; blank lines and '#' comments skipped.
// Messages name the file and line, never a value.
bool read_header_file(const char* prog, const std::string& path, SourceOptions& into) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "%s: --header @%s: %s\n", prog, path.c_str(), std::strerror(errno));
    return false;
  }
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t text = line.find_first_not_of(" \t");
    if (text == std::string::npos || line[text] == '#') continue;
    if (!valid_header(line)) {
      std::fprintf(stderr, "%s: --header @%s: line %d is not 'Name: value'\n", prog,
                   path.c_str(), n);
      return false;
    }
    into.http_headers.push_back(line);
  }
  return true;
}

}  // namespace

std::vector<OptionSpec> http_options(const char* prog, SourceOptions& into) {
  return {
      {"header", true,
       [prog, &into](const char* arg) {
         std::string h = arg;
         if (h.starts_with("@")) return read_header_file(prog, h.substr(1), into);
         if (!valid_header(h)) {
           std::fprintf(stderr, "%s: --header wants 'Name: value' or @FILE\n", prog);
           return false;
         }
         into.http_headers.push_back(h);
         return true;
       }},
      {"netrc", false, [&into](const char*) { return into.netrc = true; }},
      {"netrc-file", true,
       [&into](const char* arg) {
         into.netrc_file = arg;
         return into.netrc = true;
       }},
      {"proxy", true,
       [&into](const char* arg) {
         into.proxy = arg;
         return true;
       }},
      {"allow-origin", true,
       [prog, &into](const char* arg) {
         auto origin = parse_origin(arg);
         if (!origin) {
           std::fprintf(stderr, "%s: %s\n", prog, origin.error().message.c_str());
           return false;
         }
         into.allowed_origins.push_back(*origin);
         return true;
       }},
  };
}

std::vector<OptionSpec> with_image_options(std::vector<OptionSpec> specs, const char* prog,
                                           SourceOptions& into) {
  for (auto& spec : http_options(prog, into)) specs.push_back(std::move(spec));
  for (auto& spec : reference_options(prog, into)) specs.push_back(std::move(spec));
  specs.push_back({"bmap", true, [&into](const char* arg) {
                     into.bmap = arg;
                     return true;
                   }});
  specs.push_back({"no-bmap", false, [&into](const char*) { return into.no_bmap = true; }});
  specs.push_back({"image-size", true, [prog, &into](const char* arg) {
                     auto size = parse_size(arg);
                     if (!size || *size == 0) {
                       std::fprintf(stderr, "%s: --image-size wants a size, not '%s'\n", prog, arg);
                       return false;
                     }
                     into.image_size = *size;
                     return true;
                   }});
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

bool parse_whole_number(const char* prog, const char* name, const char* text, uint64_t low,
                        uint64_t high, uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-' || v < low || v > high) {
    std::fprintf(stderr, "%s: --%s wants a whole number from %llu to %llu, not '%s'\n", prog, name,
                 static_cast<unsigned long long>(low), static_cast<unsigned long long>(high), text);
    return false;
  }
  out = v;
  return true;
}

OptionSpec output_option(const char* prog, bool& json) {
  return {"output", true, [prog, &json](const char* v) {
            json = std::string(v) == "json";
            if (json || std::string(v) == "human") return true;
            std::fprintf(stderr, "%s: --output is human or json\n", prog);
            return false;
          }};
}

std::vector<OptionSpec> digest_options(const char* prog, std::optional<Sha256::Digest>& digest,
                                       std::string& checksums) {
  return {{"sha256", true,
           [prog, &digest](const char* arg) {
             Sha256::Digest d;
             if (!Sha256::parse(arg, d)) {
               std::fprintf(stderr, "%s: --sha256 wants 64 hexadecimal digits, not '%s'\n", prog, arg);
               return false;
             }
             digest = d;
             return true;
           }},
          {"checksums", true, [&checksums](const char* arg) { return !(checksums = arg).empty(); }}};
}

Status image_digest_from(const std::string& checksums, const std::string& image,
                         std::optional<Sha256::Digest>& digest) {
  std::ifstream in(checksums);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return io_error("read " + checksums, errno ? errno : EIO);
  auto d = Sha256::find_in_sums(text.str(), image.substr(0, image.find_first_of("?#")));
  if (!d) return usage(checksums + " lists no SHA-256 for " + image);
  if (digest && *digest != *d) return usage("--sha256 and " + checksums + " name different digests");
  digest = d;
  return {};
}

}  // namespace qflash::cli
