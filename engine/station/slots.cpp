#include "engine/station/slots.h"

#include <fnmatch.h>

#include <sstream>

namespace qflash {

bool slot_matches(const std::vector<std::string>& patterns, const Drive& drive) {
  std::vector<std::string> names{drive.slot, drive.path, drive.name};
  names.insert(names.end(), drive.by_path.begin(), drive.by_path.end());
  if (!drive.backing_file.empty()) names.push_back(drive.backing_file);
  for (const auto& pattern : patterns)
    for (const auto& name : names)
      if (::fnmatch(pattern.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}

Result<std::vector<std::pair<std::string, std::string>>> parse_slot_names(const std::string& text,
                                                                          const std::string& file) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;
    const auto gap = line.find_first_of(" \t", start);
    const auto label = gap == std::string::npos ? gap : line.find_first_not_of(" \t", gap);
    if (label == std::string::npos)
      return usage(file + ":" + std::to_string(number) + ": expected 'SLOT LABEL'");
    std::string name = line.substr(label);
    name.erase(name.find_last_not_of(" \t\r") + 1);
    out.emplace_back(line.substr(start, gap - start), name);
  }
  return out;
}

std::string slot_label(const std::vector<std::pair<std::string, std::string>>& names,
                       const Drive& drive) {
  for (const auto& [slot, label] : names) {
    if (slot == drive.slot) return label;
    for (const auto& p : drive.by_path)
      if (slot == p) return label;
  }
  return drive.slot;
}

}  // namespace qflash
