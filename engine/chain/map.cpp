// Mirrors qemu-img.c (get_block_status, entry_mergeable): descend the chain
// while a layer leaves the range unallocated; a layer with no backing, or
// whose backing ends before the range, answers "zero, not present".
#include "engine/chain/map.h"

#include <cinttypes>

namespace qflash {
namespace {

bool mergeable(const MapEntry& a, const MapEntry& b) {
  if (a.zero != b.zero || a.data != b.data || a.depth != b.depth || a.present != b.present ||
      a.has_offset != b.has_offset)
    return false;
  if (a.has_offset && (a.file != b.file || a.offset + a.length != b.offset)) return false;
  return true;
}

// qemu's BDRV_BLOCK_RECURSE (block/io.c, bdrv_co_block_status): ask the file
// under a data run whether it holds data (SEEK_DATA/SEEK_HOLE), shorten the
// run to the file's answer and take its zero flag. A run reaching past the
// end of the file, or a hole up to it, reads as zeros as a whole.
void look_through(MapEntry& e, const Source& file) {
  const uint64_t total = file.size();
  if (e.offset >= total) {
    e.zero = true;
    return;
  }
  const uint64_t bytes = std::min(e.length, total - e.offset);
  const int64_t data = file.next_data(e.offset);
  uint64_t pnum = bytes;
  bool zero = false;
  // next_data() < 0: no information, and qemu then takes it all as data.
  if (data >= 0) {
    if (uint64_t(data) >= total) {
      zero = true;  // a hole up to the end of the file
    } else if (uint64_t(data) == e.offset) {
      const int64_t hole = file.next_hole(e.offset);
      if (hole > data) pnum = std::min(bytes, uint64_t(hole) - e.offset);
    } else {
      zero = true;
      pnum = std::min(bytes, uint64_t(data) - e.offset);
    }
  }
  if (e.offset + pnum == total && zero) {
    e.zero = true;
    return;
  }
  e.length = pnum;
  e.zero = zero;
}

Result<MapEntry> entry_at(Chain& chain, uint64_t pos, uint64_t n) {
  for (size_t d = 0;; ++d) {
    Layer& layer = chain.layer(d);
    n = std::min(n, layer.size() - pos);
    QF_ASSIGN(LayerStatus st, layer.status(pos, n));
    n = st.length;
    MapEntry e{pos, n, d};
    e.has_offset = st.offset_valid;
    e.offset = st.host;
    e.file = st.file;
    switch (st.kind) {
      case LayerStatus::Kind::Data:
        e.present = e.data = true;
        if (e.has_offset && e.file && layer.map_recurses()) look_through(e, *e.file);
        return e;
      case LayerStatus::Kind::Compressed:
        e.present = e.data = true;
        e.has_offset = false;
        return e;
      case LayerStatus::Kind::Zero:
        e.present = e.zero = true;
        return e;
      case LayerStatus::Kind::Unallocated:
        if (d + 1 == chain.depth() || pos >= chain.layer(d + 1).size()) {
          e.zero = true;
          return e;
        }
        break;
    }
  }
}

}  // namespace

Result<std::vector<MapEntry>> build_map(Chain& chain) {
  std::vector<MapEntry> out;
  for (uint64_t pos = 0; pos < chain.size();) {
    QF_ASSIGN(MapEntry e, entry_at(chain, pos, chain.size() - pos));
    pos += e.length;
    if (!out.empty() && mergeable(out.back(), e))
      out.back().length += e.length;
    else
      out.push_back(e);
  }
  // qemu-img prints its first, still empty entry for a disk of size 0.
  if (out.empty()) out.push_back(MapEntry{});
  return out;
}

std::string map_to_json(const std::vector<MapEntry>& map) {
  std::string s = "[";
  char buf[256];
  for (size_t i = 0; i < map.size(); ++i) {
    const MapEntry& e = map[i];
    std::snprintf(buf, sizeof buf,
                  "%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %" PRIu64
                  ", \"present\": %s, \"zero\": %s, \"data\": %s",
                  i ? ",\n" : "", e.start, e.length, e.depth, e.present ? "true" : "false",
                  e.zero ? "true" : "false", e.data ? "true" : "false");
    s += buf;
    if (e.has_offset) {
      std::snprintf(buf, sizeof buf, ", \"offset\": %" PRIu64, e.offset);
      s += buf;
    }
    s += "}";
  }
  s += "]\n";
  return s;
}

Status map_to_text(const std::vector<MapEntry>& map, const std::string& image, std::string& out) {
  out = "Offset          Length          Mapped to       File\n";
  char buf[512];
  for (const MapEntry& e : map) {
    if (e.data && !e.has_offset)
      return unsupported(image + ": the human map cannot show compressed clusters at " +
                         std::to_string(e.start) + " (no host offset); use --output=json");
    if (!e.data || e.zero) continue;
    std::snprintf(buf, sizeof buf, "%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", e.start,
                  e.length, e.offset, e.file ? e.file->name().c_str() : "");
    out += buf;
  }
  return {};
}

}  // namespace qflash
