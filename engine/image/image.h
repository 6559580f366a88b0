// engine/image: the image model every format maps onto.
//   extent.h     Extent, one run of the virtual disk and where its bytes are
//   layer.h      Layer, one file of a chain asked what it holds at an offset
//   raw_layer.h  a raw file as a Layer
#pragma once

#include "engine/image/extent.h"
#include "engine/image/layer.h"
#include "engine/image/raw_layer.h"
