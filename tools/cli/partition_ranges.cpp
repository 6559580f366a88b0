#include "tools/cli/partition_ranges.h"

#include <cstdio>


namespace qflash::cli {

bool parse_partition_number(const std::string& text, unsigned& number) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  number = unsigned(std::stoul(text));
  return number >= 1 && number <= 65536;
}

bool parse_partition_target(const std::string& text, unsigned& number, std::string& target) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq + 1 == text.size()) return false;
  target = text.substr(eq + 1);
  return parse_partition_number(text.substr(0, eq), number);
}

bool parse_sector_size(const char* prog, const char* text, uint32_t& sector_size) {
  const std::string s = text;
  if (s == "512" || s == "4096") {
    sector_size = uint32_t(std::stoul(s));
    return true;
  }
  std::fprintf(stderr, "%s: --sector-size is 512 or 4096, not '%s'\n", prog, text);
  return false;
}

}  // namespace qflash::cli
