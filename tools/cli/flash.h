// flash(): the write path both front ends share (`qflash write` with one
// target, `qflash-mass` with many): open and validate the image, run the
// safety checks on every target, confirm, write with progress, verify,
// report (text or --json) and turn the outcome into the exit status.
#pragma once

#include <string>
#include <vector>

#include "engine/write/mass_writer.h"
#include "io/source.h"
#include "tools/cli/options.h"
#include "tools/cli/partition_ranges.h"

namespace qflash::cli {

struct FlashRequest {
  std::string image;
  std::vector<std::string> targets;
  SourceOptions source;
  WriteOptions write;
  bool yes = false;
  bool json = false;
  bool verify = false;
  std::string checksums;  // --checksums: a SHA256SUMS file to find the image's digest in
  PartitionChoice partitions;  // --partition: these instead of the whole disk
};

// The write options both commands take (--yes, --verify, --json, --sparse,
// --memory, --jobs, --queue-depth), filling `request`; and their help lines.
std::vector<OptionSpec> flash_options(FlashRequest& request, const char* prog);
extern const char kFlashOptionsHelp[];

// Returns the process exit code; prints errors, progress and the report.
int flash(const char* prog, FlashRequest& request);

}  // namespace qflash::cli
