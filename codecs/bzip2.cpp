// bzip2 streams with libbz2, on one thread: libbz2 has no parallel decoder
// and block boundaries are bit-aligned, found only by scanning for a 48-bit
// magic that may also occur inside data.
#include <bzlib.h>

#include "codecs/stream_impl.h"

namespace qflash::detail {
namespace {

class Bzip2Decoder final : public StreamDecoder {
 public:
  Bzip2Decoder() { ok_ = BZ2_bzDecompressInit(&s_, 0, 0) == BZ_OK; }
  ~Bzip2Decoder() override {
    if (ok_) BZ2_bzDecompressEnd(&s_);
  }

  StreamStatus decode(std::span<const uint8_t>& in, std::span<uint8_t>& out, bool last) override {
    if (!ok_) return fail("out of memory");
    while (true) {
      if (in.empty() && boundary_) return last ? StreamStatus::End : StreamStatus::Ok;
      if (in.empty() || out.empty()) return StreamStatus::Ok;
      s_.next_in = reinterpret_cast<char*>(const_cast<uint8_t*>(in.data()));
      s_.avail_in = unsigned(std::min<size_t>(in.size(), UINT32_MAX));
      s_.next_out = reinterpret_cast<char*>(out.data());
      s_.avail_out = unsigned(std::min<size_t>(out.size(), UINT32_MAX));
      const unsigned avail_in = s_.avail_in, avail_out = s_.avail_out;
      const int r = BZ2_bzDecompress(&s_);
      in = in.subspan(avail_in - s_.avail_in);
      out = out.subspan(avail_out - s_.avail_out);
      boundary_ = false;
      if (r == BZ_STREAM_END) {
        // pbzip2 and `cat` make several streams in one file.
        BZ2_bzDecompressEnd(&s_);
        s_ = bz_stream{};
        ok_ = BZ2_bzDecompressInit(&s_, 0, 0) == BZ_OK;
        boundary_ = true;
        continue;
      }
      if (r == BZ_DATA_ERROR || r == BZ_DATA_ERROR_MAGIC) return fail("compressed data is corrupt");
      if (r == BZ_MEM_ERROR) return fail("out of memory");
      if (r != BZ_OK) return fail("bzip2 decoder error " + std::to_string(r));
      if (avail_in == s_.avail_in && avail_out == s_.avail_out) return StreamStatus::Ok;
    }
  }
  void reset() override {
    if (ok_) BZ2_bzDecompressEnd(&s_);
    s_ = bz_stream{};
    ok_ = BZ2_bzDecompressInit(&s_, 0, 0) == BZ_OK;
    boundary_ = false;
    message_.clear();
  }
  std::string message() const override { return message_; }

 private:
  StreamStatus fail(std::string why) {
    message_ = std::move(why);
    return StreamStatus::Corrupt;
  }
  bz_stream s_{};
  bool ok_ = false;
  bool boundary_ = false;
  std::string message_;
};

}  // namespace

std::unique_ptr<StreamDecoder> make_bzip2_decoder() { return std::make_unique<Bzip2Decoder>(); }

}  // namespace qflash::detail
