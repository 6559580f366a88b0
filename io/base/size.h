// Sizes for people: "1.5 GiB" out, "64K" / "1.5M" / "2GiB" in (powers of 1024).
#pragma once

#include <cstdint>
#include <string>

#include "io/base/error.h"

namespace qflash {

// 1536 -> "1.5 KiB", 2147483648 -> "2 GiB"; below 1 KiB in bytes ("512 B").
// At most three significant digits; never fails.
std::string human_size(uint64_t bytes);

// "4096", "64K", "1.5M", "2G", "1T", also "64KiB", "64kB" (all powers of 1024)
// to bytes. A usage error for anything else, a negative or fractional byte
// count, or more than 2^63.
Result<uint64_t> parse_size(const std::string& text);

}  // namespace qflash
