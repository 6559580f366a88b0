// Reading QCOW2 refcounts, for the one place qflash needs them: qemu's
// heuristic that tells a metadata-preallocated image from a written one
// (block/qcow2-refcount.c, qcow2_detect_metadata_preallocation).
#pragma once

#include "engine/qcow2/qcow2_header.h"

namespace qflash {

// True when clearly more host clusters are referenced than the file has
// allocated on disk: qemu then reports holes under data clusters as zeros
// in its map. False when the file cannot tell (no allocation size, bad
// refcount table), as in qemu.
bool metadata_preallocated(const Source& src, const Qcow2Header& h);

}  // namespace qflash
