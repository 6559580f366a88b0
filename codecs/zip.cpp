// A zip archive holding one image (PKWARE APPNOTE 4.3, 4.4), read as a
// stream from its first byte: the entry's local header, its data (deflate
// through ISA-L's igzip, as gzip, or stored), the data descriptor when the
// header could not say the sizes, then the central directory, which must
// follow at once (a second entry is refused). The CRC-32 and the sizes are
// checked at the entry's end. No archive library: the container is a
// 30-byte header and a descriptor, and libzip and libarchive read it only
// as a whole file (one pass over a pipe or a URL is what qflash needs),
// decoding deflate slower than igzip.
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "codecs/stream_impl.h"
#include "io/base/endian.h"

namespace qflash::detail {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;  // "PK\3\4"
constexpr uint32_t kDescriptor = 0x08074b50;   // "PK\7\10", optional before a descriptor
constexpr uint32_t kCentral = 0x02014b50;      // "PK\1\2"
constexpr size_t kFixedHeader = 30;
constexpr uint16_t kEncrypted = 1, kSizesAfter = 8;  // general purpose flags
constexpr uint16_t kStored = 0, kDeflated = 8;


class ZipDecoder final : public StreamDecoder {
 public:
  ZipDecoder() : st_(std::make_unique<inflate_state>()) { reset(); }

  StreamStatus decode(std::span<const uint8_t>& in, std::span<uint8_t>& out, bool last) override {
    while (true) {
      switch (part_) {
        case Part::Header:
          if (!gather(in, header_need_)) return StreamStatus::Ok;
          if (auto st = take_header(); st != StreamStatus::Ok) return st;
          continue;
        case Part::Data: {
          if (out.empty() || (in.empty() && method_ == kStored && consumed_ < size_in_))
            return StreamStatus::Ok;
          const StreamStatus st = method_ == kDeflated ? inflate(in, out) : copy(in, out);
          if (st != StreamStatus::Ok || part_ == Part::Data) return st;
          continue;
        }
        case Part::Descriptor:
          if (!gather(in, 4) || !gather(in, descriptor_need())) return StreamStatus::Ok;
          if (auto st = take_descriptor(); st != StreamStatus::Ok) return st;
          continue;
        case Part::Next:
          if (!gather(in, 4)) return StreamStatus::Ok;
          if (load_le32(bytes_.data()) == kLocalHeader)
            return fail("a second file follows the first (qflash writes a zip of one image)");
          if (load_le32(bytes_.data()) != kCentral)
            return fail("no central directory after the entry's data");
          part_ = Part::Rest;
          continue;
        case Part::Rest:  // the central directory and its end: read, not needed
          in = in.subspan(in.size());
          return last ? StreamStatus::End : StreamStatus::Ok;
      }
    }
  }

  void reset() override {
    part_ = Part::Header;
    header_need_ = kFixedHeader;
    bytes_.clear();
    crc_ = 0;
    produced_ = consumed_ = 0;
    message_.clear();
  }

 private:
  enum class Part { Header, Data, Descriptor, Next, Rest };

  // Moves input into bytes_ until it holds `n` bytes; true once it does.
  bool gather(std::span<const uint8_t>& in, size_t n) {
    const size_t take = std::min(in.size(), n > bytes_.size() ? n - bytes_.size() : 0);
    bytes_.insert(bytes_.end(), in.begin(), in.begin() + ptrdiff_t(take));
    in = in.subspan(take);
    return bytes_.size() >= n;
  }

  StreamStatus take_header() {
    const uint8_t* h = bytes_.data();
    if (load_le32(h) != kLocalHeader) return fail("not a zip local file header");
    const size_t whole = kFixedHeader + load_le16(h + 26) + load_le16(h + 28);
    if (bytes_.size() < whole) {  // the name and the extra field are still to come
      header_need_ = whole;
      return StreamStatus::Ok;
    }
    flags_ = load_le16(h + 6);
    method_ = load_le16(h + 8);
    crc_want_ = load_le32(h + 14);
    size_in_ = load_le32(h + 18);
    size_out_ = load_le32(h + 22);
    if (flags_ & kEncrypted) return fail("the entry is encrypted");
    if (method_ != kDeflated && method_ != kStored)
      return fail("compression method " + std::to_string(method_) +
                  " (qflash reads deflated and stored entries)");
    // Zip64: the sizes the header marks 0xffffffff are in extra field 1,
    // uncompressed first.
    zip64_ = false;
    for (size_t at = kFixedHeader + load_le16(h + 26); at + 4 <= whole;) {
      const uint16_t id = load_le16(h + at), len = load_le16(h + at + 2);
      if (at + 4 + len > whole) return fail("extra field runs past the header");
      if (id == 1) {
        zip64_ = true;
        size_t k = at + 4;
        for (uint64_t* size : {&size_out_, &size_in_})
          if (*size == 0xffffffff) {
            if (k + 8 > at + 4 + len) return fail("zip64 extra field too short");
            *size = load_le64(h + k);
            k += 8;
          }
      }
      at += 4 + size_t(len);
    }
    if (method_ == kStored && (flags_ & kSizesAfter))
      return fail("a stored entry whose size comes after its data cannot be read in one pass");
    bytes_.clear();
    part_ = Part::Data;
    isal_inflate_init(st_.get());
    st_->crc_flag = ISAL_DEFLATE;
    return StreamStatus::Ok;
  }

  StreamStatus inflate(std::span<const uint8_t>& in, std::span<uint8_t>& out) {
    const size_t given = in.size();
    std::span<uint8_t> rest = out;
    const int r = isal_inflate_step(*st_, in, rest);
    consumed_ += given - in.size();
    made(out, out.size() - rest.size());
    if (r < 0) return fail(r == ISAL_INVALID_LOOKBACK ? "invalid distance too far back"
                                                      : "invalid deflate data");
    if (st_->block_state != ISAL_BLOCK_FINISH) return StreamStatus::Ok;
    // igzip reads ahead into its bit buffer: the whole bytes there past the
    // last block's padding follow the data (the descriptor, the directory).
    const unsigned pad = st_->read_in_length % 8;
    const uint64_t ahead = st_->read_in >> pad;
    for (int k = 0; k < st_->read_in_length / 8; ++k) bytes_.push_back(uint8_t(ahead >> (8 * k)));
    consumed_ -= bytes_.size();
    return entry_done();
  }

  StreamStatus copy(std::span<const uint8_t>& in, std::span<uint8_t>& out) {
    const size_t n = size_t(std::min<uint64_t>({in.size(), out.size(), size_in_ - consumed_}));
    std::memcpy(out.data(), in.data(), n);
    in = in.subspan(n);
    made(out, n);
    consumed_ += n;
    return consumed_ == size_in_ ? entry_done() : StreamStatus::Ok;
  }

  // The first `n` bytes of `out` were made: into the CRC-32, and past them.
  void made(std::span<uint8_t>& out, size_t n) {
    crc_ = crc32_gzip_refl(crc_, out.data(), n);
    produced_ += n;
    out = out.subspan(n);
  }

  // The data ended (deflate's last block, or the stored size): its checks
  // wait for the descriptor if the sizes come after the data.
  StreamStatus entry_done() {
    part_ = (flags_ & kSizesAfter) ? Part::Descriptor : Part::Next;
    return part_ == Part::Next ? check_entry() : StreamStatus::Ok;
  }

  // With its optional signature (bytes_ holds at least 4): CRC-32 and two
  // sizes of 4 bytes, or of 8 in a zip64 entry.
  size_t descriptor_need() const {
    const size_t body = zip64_ ? 20 : 12;
    return load_le32(bytes_.data()) == kDescriptor ? 4 + body : body;
  }

  StreamStatus take_descriptor() {
    const uint8_t* d = bytes_.data() + (load_le32(bytes_.data()) == kDescriptor ? 4 : 0);
    crc_want_ = load_le32(d);
    size_in_ = zip64_ ? load_le64(d + 4) : load_le32(d + 4);
    size_out_ = zip64_ ? load_le64(d + 12) : load_le32(d + 8);
    bytes_.clear();
    part_ = Part::Next;
    return check_entry();
  }

  StreamStatus check_entry() {
    if (crc_ != crc_want_) return fail("CRC-32 of the entry does not match");
    if (consumed_ != size_in_ || produced_ != size_out_)
      return fail("the entry's sizes (" + std::to_string(size_in_) + " compressed, " +
                  std::to_string(size_out_) + " uncompressed) are not those of its data (" +
                  std::to_string(consumed_) + ", " + std::to_string(produced_) + ")");
    return StreamStatus::Ok;
  }

  Part part_ = Part::Header;
  size_t header_need_ = kFixedHeader;
  std::vector<uint8_t> bytes_;  // a header or descriptor being gathered
  uint16_t flags_ = 0, method_ = 0;
  bool zip64_ = false;
  uint32_t crc_ = 0, crc_want_ = 0;
  uint64_t size_in_ = 0, size_out_ = 0;    // as the header or descriptor says
  uint64_t consumed_ = 0, produced_ = 0;  // as the data was
  std::unique_ptr<inflate_state> st_;
};

}  // namespace

std::unique_ptr<StreamDecoder> make_zip_decoder() { return std::make_unique<ZipDecoder>(); }

}  // namespace qflash::detail
