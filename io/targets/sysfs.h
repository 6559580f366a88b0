// Private to io/targets: a block device's directory in sysfs and the whole
// disk a partition belongs to.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace qflash {

// /sys/dev/block/MAJ:MIN resolved, or empty.
std::filesystem::path sysfs_dir(dev_t rdev);

// The whole disk of a partition, or `rdev` itself.
dev_t whole_disk(dev_t rdev);

// First line of a sysfs attribute, blanks trimmed; empty if absent.
std::string sysfs_attribute(const std::filesystem::path& file);

}  // namespace qflash
