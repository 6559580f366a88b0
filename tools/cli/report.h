// RunReport: what a write did, per target and in total; printed as the
// --json document (schema in README.md, "--json report") or as one summary
// line per target on stderr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/devices/devices.h"

namespace qflash::cli {

struct TargetOutcome {
  std::string path;
  uint64_t bytes = 0;  // written and flushed
  double seconds = 0;
  std::string status = "ok";  // "ok", "failed" or "interrupted"
  std::optional<std::string> error;
  std::optional<bool> verified;  // empty: not verified
  std::optional<std::string> sha256;  // of the bytes written, hex; when it completed
  std::optional<Drive> drive;    // identity of a block device target
};

// {"name": .., "vendor": .., "model": .., "serial": .., "size": .., "slot": ..}
// of a drive, or null; strings empty when sysfs has nothing.
std::string drive_json(const std::optional<Drive>& drive);

struct RunReport {
  std::string image;
  std::optional<uint64_t> virtual_size;  // empty if the image did not open, or its stream's end was not reached
  std::optional<std::string> image_sha256;  // of the image file as read, hex
  std::vector<TargetOutcome> targets;
  double seconds = 0;  // the whole write (and verification), wall clock
  int exit_status = 0;
  std::optional<std::string> error;  // why the run as a whole failed
};

std::string to_json(const RunReport& report);

// "PROG: PATH: ok, 1 GiB in 2.1 s (511 MB/s), verified" per target.
void print_summary(const char* prog, const RunReport& report);

}  // namespace qflash::cli
