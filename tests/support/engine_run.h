// Engine test support: write_image driven directly (many targets, ranges,
// options the CLI does not expose) and loop devices that detach themselves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/write/mass_writer.h"

namespace qflash::test {

struct TargetSpec {
  std::string path;
  uint64_t guest_start = 0;
  uint64_t length = UINT64_MAX;  // to the end of the virtual disk
};

// Opens the image and the targets (block devices allowed) and runs the
// engine: its result, or the first error opening the image or a target.
Result<WriteReport> engine_write(const std::string& image, const std::vector<TargetSpec>& targets,
                                 const WriteOptions& options = {});


// A tmpfs of `size` bytes mounted on `dir`, unmounted when it goes away.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, uint64_t size);
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool ok() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

// A raw disk of `size` bytes that compresses like a real one: random bytes,
// a real program's bytes, a text pattern, and zeros between them.
void make_mixed_raw(const std::string& path, uint64_t size);

// Bytes [offset, offset + length) of a file, for comparing target ranges.
std::vector<uint8_t> read_range(const std::string& path, uint64_t offset, uint64_t length);

}  // namespace qflash::test
