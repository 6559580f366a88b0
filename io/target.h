// Target: where the virtual disk is written, a regular file or a block
// device, held by descriptor from the moment it is checked: what was checked
// (and shown at the prompt) is what gets written and verified, whatever
// happens to its name meanwhile. io/targets/targets.h opens and checks them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "io/base/error.h"
#include "io/base/fd.h"

namespace qflash {

struct Target {
  std::string path;              // as the user named it (for messages)
  Fd fd;                         // O_WRONLY; invalid for a new file until it is created
  Fd direct;                     // the same file with O_DIRECT, if the fs allows it
  bool block_device = false;
  uint64_t size = 0;             // device size; for files the size once written
  uint32_t logical_block = 512;  // O_DIRECT alignment of offsets, lengths and buffers
  dev_t dev = 0;                 // st_rdev for devices, st_dev for files
  ino_t ino = 0;                 // 0 for devices
  // Identity of a device, shown at the prompt and checked again after it.
  uint64_t diskseq = 0;          // BLKGETDISKSEQ (0 where the kernel has none)
  std::string vendor, model, serial;  // from sysfs, where it has them
  std::string loop_backing;      // the file behind a loop device
  // A file still to be created (ready_targets does it): its directory, held
  // open, and its name there.
  Fd new_dir;
  std::string new_name;
};

struct TargetOptions {
  bool allow_block_device = false;  // --yes or confirmed
};

// Opens, checks and readies one target for writing `virtual_size` bytes (the
// checks of open_targets, without the confirmation in between): a new
// regular file is created; a block device must be large enough and unused.
Result<Target> open_target(const std::string& path, uint64_t virtual_size,
                           const TargetOptions& options);

}  // namespace qflash
