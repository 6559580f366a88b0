// The QCOW2 feature names `qflash info` and ImageInfo::features list.
#pragma once

#include <string>
#include <vector>

#include "engine/qcow2/qcow2_header.h"

namespace qflash {

// "dirty", "corrupt", "external-data-file", "data-file-raw", "extended-l2",
// "lazy-refcounts", "bitmaps": those the header has, in this order.
std::vector<std::string> qcow2_feature_names(const Qcow2Header& header);

}  // namespace qflash
