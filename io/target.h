// Target: where the virtual disk is written, a regular file or a block
// device. Opening checks what can be checked before any byte is written.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "io/base/error.h"
#include "io/base/fd.h"

namespace qflash {

struct Target {
  std::string path;
  Fd fd;
  Fd direct;                     // the same file with O_DIRECT, if the fs allows it
  bool block_device = false;
  uint64_t size = 0;             // device size; for files the size once written
  uint32_t logical_block = 512;  // O_DIRECT alignment of offsets, lengths and buffers
  dev_t dev = 0;                 // st_rdev for devices, st_dev for files
  ino_t ino = 0;                 // 0 for devices
};

struct TargetOptions {
  bool allow_block_device = false;  // --yes or confirmed
};

// Opens `path` for writing `virtual_size` bytes: a regular file is created
// (not yet truncated); a block device must be large enough and not mounted.
Result<Target> open_target(const std::string& path, uint64_t virtual_size,
                           const TargetOptions& options);

// Whether a block device (or a partition of it) is mounted or used by the
// kernel (swap, holders), with the reason; empty if free.
std::string block_device_busy(const std::string& path, dev_t rdev);

// Identity of a path as a Target would record it, without opening for write.
bool stat_identity(const std::string& path, dev_t& dev, ino_t& ino, bool& block_device);

}  // namespace qflash
