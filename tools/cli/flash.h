// flash(): the write path both front ends share: open and validate the image,
// run the safety checks on every target, confirm, write, report.
#pragma once

#include <string>
#include <vector>

#include "engine/mass_writer.h"
#include "io/source.h"
#include "tools/cli/partition_ranges.h"

namespace qflash::cli {

struct FlashRequest {
  std::string image;
  std::vector<std::string> targets;
  SourceOptions source;
  WriteOptions write;
  bool yes = false;
  bool json = false;
  PartitionChoice partitions;  // --partition: these instead of the whole disk
};

// Returns the process exit code; prints errors, progress and the report.
int flash(const char* prog, FlashRequest& request);

}  // namespace qflash::cli
