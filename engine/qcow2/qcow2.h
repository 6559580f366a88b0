// engine/qcow2: the QCOW2 format as a Layer; nothing here knows of chains,
// partitions or io_uring.
//   qcow2_layer.h     open_qcow2_layer(), the header of an open layer
//   qcow2_header.h    the header, its extensions and feature bits
//   l2_entry.h        L1/L2 entry decoding (standard and extended L2)
//   l2_cache.h        the L2 table cache
//   qcow2_refcount.h  refcount tables (metadata preallocation, validation)
#pragma once

#include "engine/qcow2/qcow2_header.h"
#include "engine/qcow2/qcow2_layer.h"
