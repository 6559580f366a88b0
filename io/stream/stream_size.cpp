// Stream sizes from metadata. xz: each stream ends with a 12-byte footer
// giving the size of the index before it; the index lists every block's
// uncompressed size. zstd: frame headers carry the content size when the
// compressor knew it; frames are walked block header by block header. zip:
// the end of central directory record (zip64's when the sizes overflow)
// locates the directory, whose one entry gives the size.
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader, ZSTD_frameHeaderSize
#include "io/stream/stream_size.h"

#include <lzma.h>
#include <zstd.h>

#include <vector>

#include "io/base/endian.h"

namespace qflash::detail {
namespace {

constexpr uint64_t kXzIndexLimit = 64ull << 20;  // memory liblzma may use for one index

Error bad_xz(const Source& src, uint64_t at, const std::string& why) {
  return corrupt(src.name() + ": xz stream " + why + " (at byte " + std::to_string(at) + ")");
}

Error bad_zip(const Source& src, uint64_t at, const std::string& why) {
  return corrupt(src.name() + ": zip archive " + why + " (at byte " + std::to_string(at) + ")");
}

constexpr uint32_t kZipEnd = 0x06054b50, kZip64End = 0x06064b50, kZip64Locator = 0x07064b50,
                   kZipCentral = 0x02014b50;
constexpr size_t kZipEndSize = 22, kZip64LocatorSize = 20, kZip64EndSize = 56,
                 kZipCentralSize = 46, kZipMaxComment = 65535;

}  // namespace

Result<uint64_t> xz_decoded_size(const Source& src) {
  uint64_t end = src.size(), total = 0;
  while (end > 0) {
    uint8_t footer[LZMA_STREAM_HEADER_SIZE];
    if (end < 2 * LZMA_STREAM_HEADER_SIZE) return bad_xz(src, end, "is truncated");
    QF_TRY(src.read_exact(footer, end - sizeof footer));
    if (load_le32(footer) == 0 && load_le32(footer + 4) == 0 && load_le32(footer + 8) == 0) {
      end -= 4;  // stream padding: a multiple of four zero bytes
      while (end >= 4) {
        uint8_t pad[4];
        QF_TRY(src.read_exact(pad, end - 4));
        if (load_le32(pad) != 0) break;
        end -= 4;
      }
      continue;
    }
    lzma_stream_flags flags;
    if (lzma_stream_footer_decode(&flags, footer) != LZMA_OK)
      return bad_xz(src, end - sizeof footer, "has no valid footer: truncated or not xz");
    const uint64_t index_end = end - sizeof footer;
    if (flags.backward_size > index_end) return bad_xz(src, index_end, "has an index past its start");
    std::vector<uint8_t> buf(flags.backward_size);
    QF_TRY(src.read_exact(buf, index_end - flags.backward_size));
    lzma_index* index = nullptr;
    uint64_t memlimit = kXzIndexLimit;
    size_t pos = 0;
    if (lzma_index_buffer_decode(&index, &memlimit, nullptr, buf.data(), &pos, buf.size()) != LZMA_OK)
      return bad_xz(src, index_end - flags.backward_size, "has a corrupt index");
    const uint64_t stream = lzma_index_stream_size(index);
    total += lzma_index_uncompressed_size(index);
    lzma_index_end(index, nullptr);
    if (stream > end) return bad_xz(src, end, "is longer than the file");
    end -= stream;
  }
  return total;
}

std::optional<uint64_t> zstd_first_frame_size(std::span<const uint8_t> head) {
  const unsigned long long n = ZSTD_getFrameContentSize(head.data(), head.size());
  if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR) return std::nullopt;
  return uint64_t(n);
}

Result<std::optional<uint64_t>> zstd_decoded_size(const Source& src, bool first_only) {
  uint64_t pos = 0, total = 0;
  const uint64_t size = src.size();
  auto bad = [&](const char* why) {
    return corrupt(src.name() + ": zstd frame at byte " + std::to_string(pos) + " " + why);
  };
  while (pos < size) {
    uint8_t head[ZSTD_FRAMEHEADERSIZE_MAX];
    QF_ASSIGN(size_t got, src.read_at(head, pos));
    if (got >= 8 && (load_le32(head) & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START) {
      pos += 8 + load_le32(head + 4);  // skippable frame: metadata, no content
      continue;
    }
    ZSTD_frameHeader fh;
    if (ZSTD_getFrameHeader(&fh, head, got) != 0) return bad("has a corrupt or truncated header");
    if (fh.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN) return std::optional<uint64_t>();
    total += fh.frameContentSize;
    if (first_only) return std::optional<uint64_t>(total);
    uint64_t at = pos + fh.headerSize;
    for (bool last = false; !last;) {
      uint8_t b[3];
      if (at + 3 > size) return bad("is truncated");
      QF_TRY(src.read_exact(b, at));
      const uint32_t h = uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16;
      last = h & 1;
      const uint32_t type = (h >> 1) & 3, bsize = h >> 3;
      if (type == 3) return bad("has a reserved block type");
      at += 3 + (type == 1 ? 1 : bsize);  // an RLE block stores one byte
    }
    pos = at + (fh.checksumFlag ? 4 : 0);
  }
  if (pos > size) return corrupt(src.name() + ": zstd stream is truncated");
  return std::optional<uint64_t>(total);
}

Result<uint64_t> zip_decoded_size(const Source& src) {
  // The end record is the last 22 bytes but for a comment of up to 64 KiB:
  // the last signature in that tail whose comment length ends the file.
  const uint64_t size = src.size();
  if (size < kZipEndSize) return bad_zip(src, 0, "is too short for its directory's end");
  const uint64_t tail_at = size - std::min<uint64_t>(size, kZipEndSize + kZipMaxComment);
  std::vector<uint8_t> tail(size - tail_at);
  QF_TRY(src.read_exact(tail, tail_at));
  std::optional<size_t> end;
  for (size_t at = tail.size() - kZipEndSize + 1; at-- > 0;)
    if (load_le32(&tail[at]) == kZipEnd && at + kZipEndSize + load_le16(&tail[at + 20]) == tail.size()) {
      end = at;
      break;
    }
  if (!end) return bad_zip(src, size, "has no end of central directory record: truncated or not zip");
  const uint8_t* e = &tail[*end];
  uint64_t entries = load_le16(e + 10), dir_at = load_le32(e + 16);
  if (entries == 0xffff || dir_at == 0xffffffff) {
    if (tail_at + *end < kZip64LocatorSize) return bad_zip(src, tail_at + *end, "lacks its zip64 locator");
    const uint64_t locator_at = tail_at + *end - kZip64LocatorSize;
    uint8_t locator[kZip64LocatorSize], end64[kZip64EndSize];
    QF_TRY(src.read_exact(locator, locator_at));
    if (load_le32(locator) != kZip64Locator) return bad_zip(src, locator_at, "lacks its zip64 locator");
    const uint64_t end64_at = load_le64(locator + 8);
    if (size < kZip64EndSize || end64_at > size - kZip64EndSize)
      return bad_zip(src, locator_at, "locates its zip64 end past the file");
    QF_TRY(src.read_exact(end64, end64_at));
    if (load_le32(end64) != kZip64End) return bad_zip(src, end64_at, "has no zip64 end record there");
    entries = load_le64(end64 + 32);
    dir_at = load_le64(end64 + 48);
  }
  if (entries != 1)
    return bad_zip(src, tail_at + *end,
                   "holds " + std::to_string(entries) + " files (qflash writes a zip of one image)");
  if (size < kZipCentralSize || dir_at > size - kZipCentralSize)
    return bad_zip(src, dir_at, "has its directory past the file");
  uint8_t central[kZipCentralSize];
  QF_TRY(src.read_exact(central, dir_at));
  if (load_le32(central) != kZipCentral) return bad_zip(src, dir_at, "has no directory entry there");
  uint64_t usize = load_le32(central + 24);
  if (usize != 0xffffffff) return usize;
  // Zip64 extra field (id 1): the uncompressed size first.
  const size_t name = load_le16(central + 28), extra = load_le16(central + 30);
  std::vector<uint8_t> x(extra);
  QF_TRY(src.read_exact(x, dir_at + kZipCentralSize + name));
  for (size_t at = 0; at + 4 <= x.size();) {
    const size_t len = load_le16(&x[at + 2]);
    if (load_le16(&x[at]) == 1 && len >= 8 && at + 4 + 8 <= x.size()) return load_le64(&x[at + 4]);
    at += 4 + len;
  }
  return bad_zip(src, dir_at, "gives no zip64 size for its entry");
}

}  // namespace qflash::detail
