// Which drives a station may write, and what the operator calls their slots:
// --slot patterns matched against a drive's slot, /dev/disk/by-path names,
// device path and loop backing file; and the --slot-names file.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "io/base/error.h"
#include "io/devices/devices.h"

namespace qflash {

// True when one of `patterns` (fnmatch globs, '*' also crossing '/')
// matches the drive's slot ("usb-1-1.3", "loop:/srv/a.img"), one of its
// by-path names, its device path ("/dev/sdb") or name, or its backing file.
bool slot_matches(const std::vector<std::string>& patterns, const Drive& drive);

// Labels by slot: one "SLOT LABEL" per line (blank lines and '#' comments
// ignored), SLOT being a slot name or a by-path name, LABEL the rest of the
// line ("usb-1-1.3 A1"). In file order. Errors name the line.
Result<std::vector<std::pair<std::string, std::string>>> parse_slot_names(const std::string& text,
                                                                          const std::string& file);

// The label of `drive`'s slot from `names`, or its slot name.
std::string slot_label(const std::vector<std::pair<std::string, std::string>>& names,
                       const Drive& drive);

}  // namespace qflash
