#include "tools/cli/cli.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "io/targets/targets.h"

namespace qflash::cli {

namespace {

// Length of the well-formed UTF-8 sequence at s[i] (1 to 4), or 0 if the
// byte there does not start one (stray continuation byte, overlong form,
// surrogate, past U+10FFFF, cut short).
size_t utf8_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return i + k < s.size() ? uint8_t(s[i + k]) : 0u; };
  const uint8_t c = b(0);
  const auto cont = [&](size_t k) { return (b(k) & 0xc0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const uint8_t lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    return b(1) >= lo && b(1) <= hi && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const uint8_t lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    return b(1) >= lo && b(1) <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::string json_escape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = uint8_t(s[i]);
    const size_t n = utf8_length(s, i);
    if (n == 0) {
      out += "\\ufffd";  // one replacement character per invalid byte
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
    ++i;
  }
  return out;
}

std::string terminal_safe(std::string_view s) {
  std::string out;
  const auto escape = [&](unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  };
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = uint8_t(s[i]);
    const size_t n = utf8_length(s, i);
    // C1 controls (U+0080..U+009F, "\xc2\x80".."\xc2\x9f") act like ESC on
    // some terminals: escaped as their two bytes.
    const bool c1 = n == 2 && c == 0xc2 && uint8_t(s[i + 1]) < 0xa0;
    if (n == 0 || c1 || (n == 1 && (c < 0x20 || c == 0x7f))) {
      for (size_t k = 0; k < std::max<size_t>(n, 1); ++k) escape(uint8_t(s[i + k]));
      i += std::max<size_t>(n, 1);
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

int fail(const char* prog, const Error& error) {
  std::fprintf(stderr, "%s: %s\n", prog, terminal_safe(error.message).c_str());
  return error.kind == ErrorKind::Interrupted ? kInterrupted : kBadInput;
}

bool confirm_block_devices(const char* prog, const std::string& image, uint64_t virtual_size,
                           const std::vector<Target>& targets) {
  std::vector<const Target*> devices;
  for (const auto& t : targets)
    if (t.block_device) devices.push_back(&t);
  if (devices.empty()) return true;
  if (!isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "%s: refusing to overwrite block devices without --yes (no terminal to ask)\n",
                 prog);
    return false;
  }
  const std::string size = virtual_size ? "virtual size " + human_size(virtual_size)
                                        : "size known at the end of its stream";
  std::fprintf(stderr, "%s (%s) will overwrite these block devices:\n", terminal_safe(image).c_str(),
               size.c_str());
  for (const Target* d : devices)
    std::fprintf(stderr, "  %s\n", terminal_safe(describe_target(*d)).c_str());
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
