// LoopDevice: a loop device over a file for tests that need a real block
// device, detached however the test ends. path() is empty when none could
// be set up (tests skip then), unless `required` makes that a failure.
#pragma once

#include <cstdint>
#include <string>

namespace qflash::test {

struct LoopOptions {
  uint32_t sector_size = 0;  // 0: the kernel's default (512)
  bool direct_io = false;    // --direct-io=on
  bool partitions = false;   // -P: scan the partition table
  bool required = false;     // failing to set it up fails the test
};

class LoopDevice {
 public:
  explicit LoopDevice(const std::string& file, LoopOptions options = {});
  ~LoopDevice();
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace qflash::test
