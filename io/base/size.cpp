#include "io/base/size.h"

#include <cmath>
#include <cstdio>

namespace qflash {

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

}  // namespace qflash
