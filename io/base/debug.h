// The library's side of logging (io/base/log.h is the caller's): debug()
// formats a line only when the sink set takes debug lines, so with none set
// (the default) it costs one atomic load.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "io/base/log.h"

namespace qflash {

// Whether a line of `level` would reach a sink: callers skip building it when not.
bool log_enabled(LogLevel level);

// Passes `line` to the sink if `level` reaches it.
void log_line(LogLevel level, std::string_view line);

// printf-style debug line: header fields, L1/L2 lookups, HTTP requests.
template <typename... Args>
inline void debug(const char* fmt, Args... args) {
  if (!log_enabled(LogLevel::Debug)) return;
  if constexpr (sizeof...(Args) == 0) {
    log_line(LogLevel::Debug, fmt);
  } else {
    const int n = std::snprintf(nullptr, 0, fmt, args...);
    if (n < 0) return;
    std::string line(size_t(n) + 1, '\0');
    std::snprintf(line.data(), line.size(), fmt, args...);
    line.pop_back();
    log_line(LogLevel::Debug, line);
  }
}

}  // namespace qflash
