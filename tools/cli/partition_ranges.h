// Parsing of the partition options (--partition, --sector-size); the table
// and the ranges themselves are the library's (engine/api/partition_ranges.h).
#pragma once

#include <cstdint>
#include <string>

#include "engine/api/partition_ranges.h"

namespace qflash::cli {

// "3" -> 3; false for anything but a number from 1 to 65536.
bool parse_partition_number(const std::string& text, unsigned& number);

// "3=/dev/sdb1" -> 3, "/dev/sdb1"; false when malformed.
bool parse_partition_target(const std::string& text, unsigned& number, std::string& target);

// --sector-size: "512" or "4096", else an error on stderr and false.
bool parse_sector_size(const char* prog, const char* text, uint32_t& sector_size);

}  // namespace qflash::cli
