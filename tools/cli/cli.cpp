#include "tools/cli/cli.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "io/target.h"

namespace qflash::cli {

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

bool confirm_block_devices(const char* prog, const std::vector<std::string>& devices,
                           const std::string& image, uint64_t virtual_size) {
  if (devices.empty()) return true;
  if (!isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "%s: refusing to overwrite block devices without --yes (no terminal to ask)\n",
                 prog);
    return false;
  }
  std::fprintf(stderr, "Writing %s (virtual size %s) overwrites these block devices:\n",
               image.c_str(), human_size(virtual_size).c_str());
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
