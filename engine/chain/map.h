// The allocation map with the meaning of `qemu-img map --output=json`:
// for each run, the depth in the chain that decides it, whether that layer
// has it (present), whether it reads as zeros, whether it holds data, and
// the host offset where qemu-img reports one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/chain/chain.h"

namespace qflash {

struct MapEntry {
  uint64_t start = 0;
  uint64_t length = 0;
  uint64_t depth = 0;
  bool present = false;
  bool zero = false;
  bool data = false;
  bool has_offset = false;
  uint64_t offset = 0;
  const Source* file = nullptr;  // the file `offset` refers to
};

// Entries for the whole virtual disk, merged the way qemu-img merges them.
Result<std::vector<MapEntry>> build_map(Chain& chain);

std::string map_to_json(const std::vector<MapEntry>& map);
// qemu-img map's human format: the runs that hold data, with their host
// offset and file. Like qemu, stops with an error at data that has no host
// offset (compressed clusters); `out` then holds the lines before it.
Status map_to_text(const std::vector<MapEntry>& map, const std::string& image, std::string& out);

}  // namespace qflash
