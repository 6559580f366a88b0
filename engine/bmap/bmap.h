// bmap files (bmaptool's XML block map, versions 1.x and 2.x) and the layer
// that applies one to a raw image: only the mapped ranges are data, the rest
// reads as zeros, and each range's checksum is checked as it is read.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/image/layer.h"

namespace qflash {

struct BmapRange {
  uint64_t first = 0, last = 0;  // blocks, inclusive, as the file writes them
  std::string digest;            // lower-case hex; empty if the file gives none
};

struct Bmap {
  std::string version;        // "1.4", "2.0", ...
  uint64_t image_size = 0;    // bytes
  uint32_t block_size = 0;    // bytes
  uint64_t blocks = 0;        // BlocksCount
  std::string checksum_type;  // "sha256", "sha1" (1.x), "md5"
  std::vector<BmapRange> ranges;  // sorted, disjoint, inside the image

  uint64_t mapped_bytes() const;
};

// Parses and checks a bmap; `name` is for messages.
Result<Bmap> parse_bmap(std::string_view xml, const std::string& name);

// Reads and parses the bmap file at `path`.
Result<Bmap> read_bmap(const std::string& path);

// The bmap bmaptool would find for a local image: IMAGE.bmap, then with one
// extension after another removed (disk.img.xz: disk.img.xz.bmap,
// disk.img.bmap, disk.bmap). Empty if there is none.
std::string find_bmap(const std::string& image);

// A raw layer over `image` (its decoded bytes) restricted to the ranges of
// `bmap`; refused if the bmap describes an image of another size.
Result<std::unique_ptr<Layer>> open_bmap_layer(SourcePtr image, Bmap bmap, std::string bmap_name);

// The bmap of a layer made by open_bmap_layer, or nullptr; and its file name.
const Bmap* bmap_of(const Layer& layer);
const std::string* bmap_name_of(const Layer& layer);

}  // namespace qflash
