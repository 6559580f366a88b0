// Qcow2Layer: a QCOW2 file as a Layer: its header, L1 table and L2 cache,
// and the external data file when it has one.
#pragma once

#include <memory>

#include "engine/image/layer.h"
#include "engine/qcow2/qcow2_header.h"

namespace qflash {

// Opens `src` as QCOW2; `options` are used for an external data file.
Result<std::unique_ptr<Layer>> open_qcow2_layer(SourcePtr src, const SourceOptions& options);

// The parsed header of a layer opened by open_qcow2_layer, else nullptr.
const Qcow2Header* qcow2_header_of(const Layer& layer);

}  // namespace qflash
