// Mounts and swap areas as the kernel lists them, read through libmount so
// that mount points come back as they are named (a space is a space, not
// mountinfo's "\040"). Used by the busy-device checks on targets.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace qflash {

// The mount point of the first mounted file system on one of `devices`
// (st_rdev numbers), or nothing. An unreadable mount table gives
// "(mount table unreadable)": callers refuse rather than guess.
std::optional<std::string> mounted_on(const std::vector<dev_t>& devices);

// Whether one of `devices` is an active swap area.
bool used_as_swap(const std::vector<dev_t>& devices);

}  // namespace qflash
