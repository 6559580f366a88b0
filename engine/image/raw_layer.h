// RawLayer: a raw file as a Layer (a raw backing file, or a raw image).
#pragma once

#include <memory>

#include "engine/image/layer.h"

namespace qflash {

std::unique_ptr<Layer> open_raw_layer(SourcePtr src);

}  // namespace qflash
