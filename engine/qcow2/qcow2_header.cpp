// Header parsing follows the checks qemu makes when it opens an image
// (block/qcow2.c, qcow2_do_open), plus the ones that need the file size.
#include "engine/qcow2/qcow2_header.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "io/base/endian.h"
#include "io/base/text.h"

namespace qflash {
namespace {

constexpr uint32_t kExtEnd = 0;
constexpr uint32_t kExtBackingFormat = 0xe2792aca;
constexpr uint32_t kExtFeatureTable = 0x6803f857;
constexpr uint32_t kExtDataFile = 0x44415441;
constexpr uint64_t kMaxL1Bytes = 32u << 20;        // qemu's QCOW_MAX_L1_SIZE
constexpr uint64_t kMaxRefcountTableBytes = 8u << 20;
constexpr uint32_t kMaxSnapshots = 65536;
constexpr uint32_t kMaxBackingName = 1023;
constexpr uint32_t kV2HeaderLength = 72;
constexpr uint32_t kV3HeaderLength = 104;
constexpr size_t kFirstRead = 64u << 10;

// qemu reads names stored in the header (backing file, backing format, data
// file) into C strings: the name ends at its first NUL byte.
std::string c_string(std::span<const uint8_t> bytes) {
  const auto* p = reinterpret_cast<const char*>(bytes.data());
  return std::string(p, strnlen(p, bytes.size()));
}

// A table of `count` entries of `entry` bytes at `offset` must be cluster
// aligned (even when empty, as qemu's qcow2_validate_table demands) and lie
// inside the file.
Status check_table(const Source& src, const Qcow2Header& h, const char* what, uint64_t offset,
                   uint64_t count, uint64_t entry) {
  if (offset_into_cluster(h, offset))
    return corrupt(src.name() + ": " + what + " offset " + hex(offset) + " is not cluster-aligned");
  if (count == 0) {
    if (offset > uint64_t(INT64_MAX))
      return corrupt(src.name() + ": " + what + " offset " + hex(offset) + " is invalid");
    return {};
  }
  if (count > (UINT64_MAX - offset) / entry || offset + count * entry > src.size())
    return corrupt(src.name() + ": " + what + " at " + hex(offset) + " (" +
                   std::to_string(count * entry) + " bytes) lies past the end of the file (" +
                   std::to_string(src.size()) + " bytes; truncated?)");
  return {};
}

// Walks the snapshot table the way qemu does when it opens an image
// (qcow2_read_snapshots) and refuses what it refuses. Bytes past the end of
// the file read as zeros there too.
Status check_snapshots(const Source& src, const Qcow2Header& h) {
  constexpr uint64_t kMaxExtraData = 1024, kMaxTableBytes = 64u << 20;
  uint64_t offset = h.snapshots_offset;
  for (uint32_t i = 0; i < h.nb_snapshots; ++i) {
    offset = (offset + 7) & ~uint64_t{7};
    uint8_t e[40];
    QF_TRY(src.read_padded(e, offset));
    const uint64_t extra = load_be32(e + 36);
    if (extra > kMaxExtraData)
      return corrupt(src.name() + ": snapshot " + std::to_string(i) + " has " +
                     std::to_string(extra) + " bytes of extra data, more than 1024");
    offset += sizeof e + extra + load_be16(e + 12) + load_be16(e + 14);
    if (offset - h.snapshots_offset > kMaxTableBytes)
      return corrupt(src.name() + ": snapshot table is larger than 64 MiB");
  }
  return {};
}

Status parse_extensions(const Source& src, Qcow2Header& h, std::span<const uint8_t> area,
                        uint64_t base) {
  size_t pos = 0;
  while (pos < area.size()) {
    if (area.size() - pos < 8)
      return corrupt(src.name() + ": header extension at " + hex(base + pos) + " is cut short");
    uint32_t type = load_be32(&area[pos]);
    uint32_t len = load_be32(&area[pos + 4]);
    pos += 8;
    // qemu checks the length first, even of the end marker.
    if (len > area.size() - pos)
      return corrupt(src.name() + ": header extension " + hex(type) + " at " +
                     hex(base + pos - 8) + " is longer than the header area");
    if (type == kExtEnd) break;
    auto data = area.subspan(pos, len);
    switch (type) {
      case kExtBackingFormat:
        h.backing_format = c_string(data);
        break;
      case kExtDataFile:
        h.data_file = c_string(data);
        break;
      case kExtFeatureTable:
        for (size_t i = 0; i + 48 <= data.size(); i += 48) {
          const char* name = reinterpret_cast<const char*>(&data[i + 2]);
          h.feature_names.push_back({data[i], data[i + 1], std::string(name, strnlen(name, 46))});
        }
        break;
      default:
        h.unknown_extensions.push_back(type);
    }
    pos += (uint64_t(len) + 7) & ~uint64_t{7};
  }
  return {};
}

Status validate(const Source& src, const Qcow2Header& h) {
  const std::string& n = src.name();
  if (h.crypt_method != 0)
    return unsupported(n + ": encrypted images (" +
                       (h.crypt_method == 1   ? std::string("AES")
                        : h.crypt_method == 2 ? std::string("LUKS")
                                              : "method " + std::to_string(h.crypt_method)) +
                       ") are not supported");
  if (uint64_t unknown = h.incompatible_features & ~kIncompatKnown) {
    std::string names;
    for (unsigned bit = 0; bit < 64; ++bit)
      if (unknown >> bit & 1) names += (names.empty() ? "" : ", ") + h.incompatible_name(bit);
    return unsupported(n + ": unknown incompatible features: " + names);
  }
  if (h.refcount_order > 6)
    return corrupt(n + ": refcount order " + std::to_string(h.refcount_order) + " is above 6");
  if (h.extended_l2() && h.subcluster_bits() < 9)
    return corrupt(n + ": extended L2 entries need clusters of at least 16 KiB, not " +
                   std::to_string(h.cluster_size()));
  if (h.compression == Codec::Deflate && (h.incompatible_features & kIncompatCompression))
    return corrupt(n + ": compression type bit set for the default (deflate) compression");
  if (h.compression != Codec::Deflate && !(h.incompatible_features & kIncompatCompression))
    return corrupt(n + ": compression type is zstd but its incompatible bit is not set");
  if (h.data_file_raw() && !h.has_data_file())
    return corrupt(n + ": data_file_raw is set but the image has no external data file");
  if (h.has_data_file() && (!h.data_file || h.data_file->empty()))
    return corrupt(n + ": the image uses an external data file but does not name it");

  // The virtual size decides how many L1 entries the image needs.
  if (h.size > (uint64_t{1} << 62))
    return corrupt(n + ": virtual size " + std::to_string(h.size) + " is absurd");
  const uint64_t l1_needed = size_to_l1(h, h.size);
  if (l1_needed > kMaxL1Bytes / 8)
    return unsupported(n + ": virtual size " + std::to_string(h.size) + " is too large");
  if (uint64_t(h.l1_size) * 8 > kMaxL1Bytes)
    return corrupt(n + ": L1 table has " + std::to_string(h.l1_size) +
                   " entries, more than the 32 MiB qemu allows");
  if (h.l1_size < l1_needed)
    return corrupt(n + ": L1 table has " + std::to_string(h.l1_size) + " entries, " +
                   std::to_string(l1_needed) + " are needed for the virtual size");
  QF_TRY(check_table(src, h, "L1 table", h.l1_table_offset, h.l1_size, 8));
  if (h.refcount_table_clusters == 0)
    return corrupt(n + ": the image has no refcount table");
  if (uint64_t(h.refcount_table_clusters) * h.cluster_size() > kMaxRefcountTableBytes)
    return corrupt(n + ": refcount table is too large");
  QF_TRY(check_table(src, h, "refcount table", h.refcount_table_offset, h.refcount_table_clusters,
                     h.cluster_size()));
  if (h.nb_snapshots > kMaxSnapshots)
    return corrupt(n + ": " + std::to_string(h.nb_snapshots) + " snapshots, more than 65536");
  if (offset_into_cluster(h, h.snapshots_offset))
    return corrupt(n + ": snapshot table offset " + hex(h.snapshots_offset) +
                   " is not cluster-aligned");
  if (h.snapshots_offset > uint64_t(INT64_MAX) - uint64_t(h.nb_snapshots) * 40)
    return corrupt(n + ": snapshot table offset " + hex(h.snapshots_offset) + " is invalid");
  if (h.nb_snapshots && h.snapshots_offset >= src.size())
    return corrupt(n + ": snapshot table at " + hex(h.snapshots_offset) +
                   " lies past the end of the file");
  return {};
}

}  // namespace

std::string Qcow2Header::incompatible_name(unsigned bit) const {
  for (const auto& f : feature_names)
    if (f.type == 0 && f.bit == bit) return f.name;
  static const char* const known[] = {"dirty bit", "corrupt bit", "external data file",
                                      "compression type", "extended L2 entries"};
  return bit < 5 ? known[bit] : "unknown feature bit " + std::to_string(bit);
}

bool has_qcow2_magic(const Source& src) {
  uint8_t magic[4];
  auto n = src.read_at(magic, 0);
  return n && *n == 4 && load_be32(magic) == kQcow2Magic;
}

Result<Qcow2Header> read_qcow2_header(const Source& src) {
  const std::string& n = src.name();
  // One read covers the whole first cluster of most images (64 KiB
  // clusters and smaller); larger clusters read the rest once known.
  std::vector<uint8_t> first(kFirstRead, 0);
  QF_ASSIGN(size_t got, src.read_at(first, 0));
  const uint8_t* fixed = first.data();
  if (got < kV2HeaderLength)
    return corrupt(n + ": file is too short for a QCOW2 header (" + std::to_string(got) +
                   " bytes)");
  if (load_be32(fixed) != kQcow2Magic) return corrupt(n + ": not a QCOW2 image (bad magic)");

  Qcow2Header h;
  h.version = load_be32(fixed + 4);
  if (h.version != 2 && h.version != 3)
    return unsupported(n + ": QCOW2 version " + std::to_string(h.version) +
                       " is not supported (only 2 and 3)");
  h.backing_file_offset = load_be64(fixed + 8);
  h.backing_file_size = load_be32(fixed + 16);
  h.cluster_bits = load_be32(fixed + 20);
  h.size = load_be64(fixed + 24);
  h.crypt_method = load_be32(fixed + 32);
  h.l1_size = load_be32(fixed + 36);
  h.l1_table_offset = load_be64(fixed + 40);
  h.refcount_table_offset = load_be64(fixed + 48);
  h.refcount_table_clusters = load_be32(fixed + 56);
  h.nb_snapshots = load_be32(fixed + 60);
  h.snapshots_offset = load_be64(fixed + 64);
  if (h.cluster_bits < 9 || h.cluster_bits > 21)
    return corrupt(n + ": cluster_bits " + std::to_string(h.cluster_bits) +
                   " is outside 9..21 (512 B to 2 MiB clusters)");
  if (h.version == 3) {
    if (got < kV3HeaderLength)
      return corrupt(n + ": file is too short for a QCOW2 v3 header");
    h.incompatible_features = load_be64(fixed + 72);
    h.compatible_features = load_be64(fixed + 80);
    h.autoclear_features = load_be64(fixed + 88);
    h.refcount_order = load_be32(fixed + 96);
    h.header_length = load_be32(fixed + 100);
    if (h.header_length < kV3HeaderLength)
      return corrupt(n + ": header length " + std::to_string(h.header_length) +
                     " is shorter than the 104 bytes of a v3 header");
    if (h.header_length > h.cluster_size())
      return corrupt(n + ": header length " + std::to_string(h.header_length) +
                     " exceeds the cluster size");
    if (h.header_length > kV3HeaderLength) {
      if (got <= kV3HeaderLength) return corrupt(n + ": header is cut short by the end of file");
      switch (fixed[104]) {
        case 0: h.compression = Codec::Deflate; break;
        case 1: h.compression = Codec::Zstd; break;
        default:
          return unsupported(n + ": unknown compression type " + std::to_string(fixed[104]));
      }
    }
  }

  // Extensions run from the end of the header to the backing file name, or
  // to the end of the first cluster.
  if (h.backing_file_offset > h.cluster_size())
    return corrupt(n + ": backing file name offset " + hex(h.backing_file_offset) +
                   " lies outside the first cluster");
  uint64_t ext_end = h.backing_file_offset ? h.backing_file_offset : h.cluster_size();
  // Past the end of a short file the cluster reads as zeros, as in qemu
  // (where a zero extension type ends the list).
  if (h.cluster_size() > first.size()) {
    first.resize(h.cluster_size());
    QF_TRY(src.read_padded(std::span<uint8_t>(first).subspan(kFirstRead), kFirstRead));
  }
  if (src.size() < h.header_length)
    return corrupt(n + ": header of " + std::to_string(h.header_length) +
                   " bytes is cut short by the end of the file (" + std::to_string(src.size()) +
                   " bytes)");
  if (ext_end > h.header_length) {
    auto area = std::span<const uint8_t>(first).subspan(h.header_length, ext_end - h.header_length);
    QF_TRY(parse_extensions(src, h, area, h.header_length));
  }
  if (h.backing_file_offset) {
    if (h.backing_file_size > kMaxBackingName ||
        h.backing_file_size > h.cluster_size() - h.backing_file_offset)
      return corrupt(n + ": backing file name is " + std::to_string(h.backing_file_size) +
                     " bytes, longer than 1023 or past the first cluster");
    if (h.backing_file_offset + h.backing_file_size > src.size())
      return corrupt(n + ": backing file name lies past the end of the file");
    // Empty once cut at its first NUL: no backing file, as in qemu.
    h.backing_file = c_string(
        std::span<const uint8_t>(first).subspan(h.backing_file_offset, h.backing_file_size));
  }
  QF_TRY(validate(src, h));
  QF_TRY(check_snapshots(src, h));
  return h;
}

}  // namespace qflash
