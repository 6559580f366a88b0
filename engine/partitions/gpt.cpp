// GPT: a header at LBA 1 (CRC-32 over itself), an entry array (CRC-32 in the
// header) and copies of both at the disk's end. A damaged primary falls back
// to the backup, with a warning. Every count and offset is checked before use.
#include <libdeflate.h>

#include <array>

#include "engine/partitions/partition_formats.h"
#include "engine/partitions/partition_types.h"

namespace qflash {
namespace {

constexpr char kSignature[8] = {'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T'};
constexpr uint32_t kMinHeaderSize = 92;
constexpr uint32_t kMaxEntries = 65536;           // real tables: 128
constexpr uint64_t kMaxArrayBytes = 16ull << 20;  // real tables: 16 KiB

struct GptHeader {
  uint64_t lba;
  uint64_t alternate_lba, first_usable, last_usable, entries_lba;
  uint32_t entries, entry_size, entries_crc;
  std::string disk_guid;
};

uint32_t crc32(std::span<const uint8_t> b) { return libdeflate_crc32(0, b.data(), b.size()); }

// Reads and checks the header at `lba`; errors say what is wrong without
// the disk name (the caller joins primary and backup reasons).
Result<GptHeader> load_header(const Disk& disk, uint32_t ss, uint64_t lba) {
  const uint64_t sectors = disk.size / ss;
  if (lba == 0 || lba >= sectors)
    return corrupt("sector " + std::to_string(lba) + " is outside the disk");
  std::vector<uint8_t> s(ss);
  QF_TRY(disk.read_at(s, lba * ss, "GPT header"));
  if (std::memcmp(s.data(), kSignature, 8) != 0) return corrupt("no \"EFI PART\" signature");
  const uint32_t header_size = load_le32(&s[12]);
  if (header_size < kMinHeaderSize || header_size > ss)
    return corrupt("header size " + std::to_string(header_size) + " is absurd");
  const uint32_t crc = load_le32(&s[16]);
  std::memset(&s[16], 0, 4);
  if (crc32(std::span(s).first(header_size)) != crc) return corrupt("header CRC mismatch");
  GptHeader h;
  h.lba = load_le64(&s[24]);
  h.alternate_lba = load_le64(&s[32]);
  h.first_usable = load_le64(&s[40]);
  h.last_usable = load_le64(&s[48]);
  h.disk_guid = guid_string(&s[56]);
  h.entries_lba = load_le64(&s[72]);
  h.entries = load_le32(&s[80]);
  h.entry_size = load_le32(&s[84]);
  h.entries_crc = load_le32(&s[88]);
  if (h.lba != lba)
    return corrupt("header says it is at sector " + std::to_string(h.lba) + ", found at " +
                   std::to_string(lba));
  if (h.first_usable > h.last_usable || h.last_usable >= sectors)
    return corrupt("usable " + sectors_text(h.first_usable, h.last_usable) +
                   " do not fit the disk (" + std::to_string(sectors) + " sectors)");
  if (h.entry_size < 128 || h.entry_size % 8 || h.entry_size > 4096 || h.entries > kMaxEntries ||
      uint64_t(h.entries) * h.entry_size > kMaxArrayBytes)
    return corrupt("entry array of " + std::to_string(h.entries) + " entries of " +
                   std::to_string(h.entry_size) + " bytes is absurd");
  const uint64_t array_sectors = (uint64_t(h.entries) * h.entry_size + ss - 1) / ss;
  if (h.entries_lba == 0 || h.entries_lba >= sectors || array_sectors > sectors - h.entries_lba)
    return corrupt("entry array at sector " + std::to_string(h.entries_lba) + " (" +
                   std::to_string(array_sectors) + " sectors) lies past the end of the disk (" +
                   std::to_string(sectors) + " sectors)");
  return h;
}

Result<std::vector<uint8_t>> load_entries(const Disk& disk, uint32_t ss, const GptHeader& h) {
  std::vector<uint8_t> array(size_t(h.entries) * h.entry_size);
  QF_TRY(disk.read_at(array, h.entries_lba * ss, "GPT entry array"));
  if (crc32(array) != h.entries_crc) return corrupt("entry array CRC mismatch");
  return array;
}

// UTF-16LE (up to a NUL) to UTF-8; unpaired surrogates become U+FFFD.
std::string utf16le_to_utf8(std::span<const uint8_t> in) {
  std::string out;
  for (size_t i = 0; i + 1 < in.size(); i += 2) {
    uint32_t c = load_le16(&in[i]);
    if (c == 0) break;
    if (c >= 0xd800 && c < 0xdc00 && i + 3 < in.size()) {
      const uint32_t lo = load_le16(&in[i + 2]);
      if (lo >= 0xdc00 && lo < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i += 2;
      }
    }
    if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
    if (c < 0x80) {
      out += char(c);
    } else if (c < 0x800) {
      out += char(0xc0 | c >> 6);
      out += char(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      out += char(0xe0 | c >> 12);
      out += char(0x80 | (c >> 6 & 0x3f));
      out += char(0x80 | (c & 0x3f));
    } else {
      out += char(0xf0 | c >> 18);
      out += char(0x80 | (c >> 12 & 0x3f));
      out += char(0x80 | (c >> 6 & 0x3f));
      out += char(0x80 | (c & 0x3f));
    }
  }
  return out;
}

Status fill_partitions(const Disk& disk, uint32_t ss, const GptHeader& h,
                       std::span<const uint8_t> array, PartitionTable& table) {
  static constexpr uint8_t kUnused[16] = {};
  for (uint32_t i = 0; i < h.entries; ++i) {
    const uint8_t* e = array.data() + size_t(i) * h.entry_size;
    if (std::memcmp(e, kUnused, 16) == 0) continue;
    Partition p;
    p.number = i + 1;
    p.first_sector = load_le64(e + 32);
    p.last_sector = load_le64(e + 40);
    if (p.first_sector > p.last_sector || p.first_sector < h.first_usable ||
        p.last_sector > h.last_usable)
      return disk.corrupt("GPT partition " + std::to_string(p.number) + " (" +
                          sectors_text(p.first_sector, p.last_sector) +
                          ") lies outside the usable " +
                          sectors_text(h.first_usable, h.last_usable));
    p.offset = p.first_sector * ss;
    p.length = (p.last_sector - p.first_sector + 1) * ss;
    p.type = guid_string(e);
    p.type_name = gpt_type_name(p.type);
    p.guid = guid_string(e + 16);
    p.attributes = load_le64(e + 48);
    p.name = utf16le_to_utf8(std::span(e + 56, 72));
    table.partitions.push_back(std::move(p));
  }
  std::vector<const Partition*> all;
  for (const auto& p : table.partitions) all.push_back(&p);
  return check_no_overlap(disk, all);
}

// One attempt: the header at `lba` and its entries.
Status try_table(const Disk& disk, uint32_t ss, uint64_t lba, GptHeader& h,
                 std::vector<uint8_t>& array) {
  QF_ASSIGN(h, load_header(disk, ss, lba));
  QF_ASSIGN(array, load_entries(disk, ss, h));
  return {};
}

}  // namespace

Result<bool> gpt_signature_at_lba1(const Disk& disk, uint32_t ss) {
  if (disk.size < 2ull * ss) return false;
  std::array<uint8_t, 8> sig;
  QF_TRY(disk.read_at(sig, ss, "GPT header"));
  return std::memcmp(sig.data(), kSignature, 8) == 0;
}

Status read_gpt(const Disk& disk, PartitionTable& table) {
  // The primary's signature tells the sector size; without one, look for a
  // backup at the end for either size.
  std::vector<uint32_t> sizes;
  for (uint32_t ss : {512u, 4096u}) {
    QF_ASSIGN(bool found, gpt_signature_at_lba1(disk, ss));
    if (found) {
      sizes = {ss};
      break;
    }
    sizes.push_back(ss);
  }
  std::string reasons;
  for (uint32_t ss : sizes) {
    if (disk.size / ss < 3) {
      reasons += std::string(reasons.empty() ? "" : "; ") + "the disk is too small for a GPT of " +
                 std::to_string(ss) + "-byte sectors";
      continue;
    }
    const uint64_t last = disk.size / ss - 1;
    GptHeader h;
    std::vector<uint8_t> array;
    Status primary = try_table(disk, ss, 1, h, array);
    bool backup = false;
    if (!primary) {
      // A primary header that checks out knows where its backup is.
      auto ph = load_header(disk, ss, 1);
      const uint64_t alt =
          ph && ph->alternate_lba > 1 && ph->alternate_lba <= last ? ph->alternate_lba : last;
      Status second = try_table(disk, ss, alt, h, array);
      reasons += std::string(reasons.empty() ? "" : "; ") + "primary header at sector 1 (" +
                 std::to_string(ss) + "-byte sectors): " + primary.error().message +
                 "; backup header at sector " + std::to_string(alt) + ": " +
                 (second ? "ok" : second.error().message);
      if (!second) continue;
      backup = true;
      table.warnings.push_back("primary GPT damaged (" + primary.error().message +
                               "); using the backup header at sector " + std::to_string(alt));
    }
    table.kind = TableKind::Gpt;
    table.sector_size = ss;
    table.disk_id = h.disk_guid;
    table.backup_used = backup;
    return fill_partitions(disk, ss, h, array, table);
  }
  return disk.corrupt("no valid GPT: " + reasons);
}

}  // namespace qflash
