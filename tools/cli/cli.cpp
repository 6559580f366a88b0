#include "tools/cli/cli.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "io/target.h"

namespace qflash::cli {

std::string human_size(uint64_t bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = double(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f %s", v, units[u]);
  else
    std::snprintf(buf, sizeof buf, v < 10 ? "%.2g %s" : "%.1f %s", v, units[u]);
  // %.2g of 1.5 gives "1.5", of 9.96 gives "10": both read well.
  return buf;
}

Result<uint64_t> parse_size(const std::string& text) {
  if (text.empty()) return usage("empty size");
  size_t used = 0;
  double v;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    return usage("'" + text + "' is not a size");
  }
  std::string unit = text.substr(used);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
  if (unit.size() == 2 && (unit[1] == 'i')) unit.pop_back();
  double mult = 1;
  if (unit.empty()) mult = 1;
  else if (unit == "K" || unit == "k") mult = 1024.0;
  else if (unit == "M" || unit == "m") mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "g") mult = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "t") mult = 1024.0 * 1024 * 1024 * 1024;
  else return usage("'" + text + "': unknown size unit");
  double bytes = v * mult;
  if (!(bytes >= 0) || bytes > 9.2e18 || bytes != std::floor(bytes))
    return usage("'" + text + "' is not a whole number of bytes");
  return uint64_t(bytes);
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out;
}

int fail(const char* prog, const Error& error) {
  std::fprintf(stderr, "%s: %s\n", prog, error.message.c_str());
  return error.kind == ErrorKind::Interrupted ? kInterrupted : kBadInput;
}

std::string describe_device(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string name = fs::canonical(path, ec).filename().string();
  std::string model;
  std::ifstream(fs::path("/sys/class/block") / name / "device" / "model") >> std::ws >> model;
  if (model.empty()) {
    std::ifstream f(fs::path("/sys/class/block") / name / "device" / "model");
    std::getline(f, model);
  }
  if (model.empty()) {
    // A loop device has no model; what it is backed by says more.
    std::string backing;
    std::getline(std::ifstream(fs::path("/sys/class/block") / name / "loop" / "backing_file"), backing);
    if (!backing.empty()) model = "loop device on " + backing;
  }
  uint64_t sectors = 0;
  std::ifstream(fs::path("/sys/class/block") / name / "size") >> sectors;
  std::string out = path + "  " + human_size(sectors * 512);
  if (!model.empty()) out += "  " + model;
  return out;
}

bool confirm_block_devices(const char* prog, const std::vector<std::string>& devices) {
  if (devices.empty()) return true;
  if (!isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "%s: refusing to overwrite block devices without --yes (no terminal to ask)\n",
                 prog);
    return false;
  }
  std::fprintf(stderr, "These block devices will be overwritten:\n");
  for (const auto& d : devices) std::fprintf(stderr, "  %s\n", describe_device(d).c_str());
  std::fprintf(stderr, "Type 'yes' to continue: ");
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "yes";
}

std::optional<Chain> open_image_arg(const std::vector<std::string>& positional, const char* help,
                                    const SourceOptions& source, int& exit_code) {
  if (positional.size() != 1) {
    std::fputs(help, stderr);
    exit_code = kBadInput;
    return std::nullopt;
  }
  auto chain = Chain::open(positional[0], source);
  if (!chain) {
    exit_code = fail("qflash", chain.error());
    return std::nullopt;
  }
  return std::move(chain).value();
}

}  // namespace qflash::cli
