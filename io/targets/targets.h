// Targets, opened once and checked through their descriptors, in two steps
// around the confirmation prompt:
//   open_targets  before the prompt: every target opened (a block device
//                 exclusively, so nothing mounts it meanwhile) and refused if
//                 it is not a regular file or block device, lies on a pseudo
//                 file system (proc, sysfs, devtmpfs, ...), is a dangling
//                 symlink, is a file of the image, is mounted, swapped on or
//                 held (itself, a partition of it, or a loop device over it),
//                 is too small, or overlaps another target;
//   ready_targets after it: a device must still be the one shown (disk
//                 sequence number, size) and unused; new files are created
//                 (O_EXCL|O_NOFOLLOW in the directory opened before);
//                 O_DIRECT descriptors are derived from the open ones.
// Nothing is written by either; every refusal is an ErrorKind::Target error
// naming the path and the reason.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "io/source.h"
#include "io/target.h"

namespace qflash {

struct TargetRequest {
  std::string path;
  uint64_t needed = 0;  // bytes it will receive
};

// `image_files`: every file the image reads (Chain::files()), never a target.
Result<std::vector<Target>> open_targets(std::span<const TargetRequest> requests,
                                         std::span<const Source* const> image_files);

Status ready_targets(std::span<Target> targets);

// "/dev/sdb  16 GiB  SanDisk Cruzer (serial 4C53...)": what the prompt shows.
std::string describe_target(const Target& target);

// Whether the block device `rdev` (or a partition of it, or a loop device
// over it) is mounted, swapped on, held by another driver or claimed
// exclusively, with the reason; empty if free.
std::string block_device_busy(const std::string& path, dev_t rdev);

// The same for a regular file: a loop device over it that is in use.
std::string file_busy(const std::string& path, dev_t dev, ino_t ino);

}  // namespace qflash
