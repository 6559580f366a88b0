// --debug: internals (header fields, L1/L2 lookups) to stderr. The one
// global the project has.
#pragma once

#include <cstdio>

namespace qflash {

extern bool g_debug;

template <typename... Args>
inline void debug(const char* fmt, Args... args) {
  if (!g_debug) return;
  std::fputs("debug: ", stderr);
  if constexpr (sizeof...(Args) == 0) {
    std::fputs(fmt, stderr);
  } else {
    std::fprintf(stderr, fmt, args...);
  }
  std::fputc('\n', stderr);
}

}  // namespace qflash
