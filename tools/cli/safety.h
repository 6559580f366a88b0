// The safety checks run on every target before anything is asked or written:
// no mounted (or partly mounted) device, no device twice, no target that is
// part of the image being read, no block device smaller than the image.
#pragma once

#include <string>
#include <vector>

#include "engine/chain/chain.h"

namespace qflash::cli {

struct CheckedTarget {
  std::string path;
  bool block_device = false;
  uint64_t size = 0;  // of a block device; 0 for files
};

// Checks `paths` as targets for `chain`, where paths[i] receives needed[i]
// bytes; the first refusal comes back as an ErrorKind::Target error naming
// the path and the reason.
Result<std::vector<CheckedTarget>> check_targets(const Chain& chain,
                                                 const std::vector<std::string>& paths,
                                                 const std::vector<uint64_t>& needed);

}  // namespace qflash::cli
