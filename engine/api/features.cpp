#include "engine/api/features.h"

namespace qflash {

std::vector<std::string> qcow2_feature_names(const Qcow2Header& h) {
  std::vector<std::string> f;
  if (h.incompatible_features & kIncompatDirty) f.push_back("dirty");
  if (h.incompatible_features & kIncompatCorrupt) f.push_back("corrupt");
  if (h.has_data_file()) f.push_back("external-data-file");
  if (h.data_file_raw()) f.push_back("data-file-raw");
  if (h.extended_l2()) f.push_back("extended-l2");
  if (h.compatible_features & kCompatLazyRefcounts) f.push_back("lazy-refcounts");
  if (h.autoclear_features & kAutoclearBitmaps) f.push_back("bitmaps");
  return f;
}

}  // namespace qflash
