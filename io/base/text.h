// Small text helpers for messages: offsets in hex, and names from files or
// images made safe to print (they may hold any byte).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace qflash {

// "0x1f0000", as qemu prints host offsets.
inline std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// `name` with control characters (NUL, ESC, newline, DEL, ...) written as
// \xNN, so a name read from an image cannot cut a message short or drive a
// terminal. Other bytes (UTF-8 included) are kept, so applying it twice
// changes nothing.
inline std::string printable(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out;
}

}  // namespace qflash
