// The malformed-input oracle: qflash refuses an image with exit status 1 and
// one line on stderr naming the image and the fault, and writes nothing.
#pragma once

#include <string>
#include <vector>

#include "tests/support/support.h"

namespace qflash::test {

// Runs `qflash write IMAGE T` onto an existing target with known bytes (it
// must stay unchanged) and onto a missing one (it must not be created), and
// `qflash map` and `qflash info`; each must exit 1 with a single stderr line
// holding the image name and every one of `fault`. Returns that line.
std::string expect_refused(const std::string& image, const std::vector<std::string>& fault);

// Offset of the first occurrence of `bytes` in `path`, or -1.
int64_t find_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace qflash::test
