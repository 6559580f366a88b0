// gzip members with zlib's inflate. zlib rather than libdeflate because
// libdeflate has no streaming API (it needs the whole stream and its size in
// memory); bench/bench_gunzip.cpp compares the inflaters Debian offers.
#include <zlib.h>

#include "codecs/stream_impl.h"

namespace qflash::detail {
namespace {

class GzipDecoder final : public StreamDecoder {
 public:
  GzipDecoder() { ok_ = inflateInit2(&z_, 15 + 16) == Z_OK; }
  ~GzipDecoder() override { inflateEnd(&z_); }

  StreamStatus decode(std::span<const uint8_t>& in, std::span<uint8_t>& out, bool last) override {
    if (!ok_) return fail("out of memory");
    while (true) {
      if (in.empty() && boundary_) return last ? StreamStatus::End : StreamStatus::Ok;
      if (in.empty() || out.empty()) return StreamStatus::Ok;
      z_.next_in = const_cast<Bytef*>(in.data());
      z_.avail_in = uInt(std::min<size_t>(in.size(), UINT32_MAX));
      z_.next_out = out.data();
      z_.avail_out = uInt(std::min<size_t>(out.size(), UINT32_MAX));
      const uInt avail_in = z_.avail_in, avail_out = z_.avail_out;
      const int r = inflate(&z_, Z_NO_FLUSH);
      in = in.subspan(avail_in - z_.avail_in);
      out = out.subspan(avail_out - z_.avail_out);
      boundary_ = false;
      if (r == Z_STREAM_END) {
        // Another member may follow (pigz --independent, cat a.gz b.gz).
        inflateReset(&z_);
        boundary_ = true;
        continue;
      }
      if (r == Z_BUF_ERROR) return StreamStatus::Ok;  // needs input or room
      if (r != Z_OK) return fail(z_.msg ? z_.msg : "inflate failed");
      if (avail_in == z_.avail_in && avail_out == z_.avail_out) return StreamStatus::Ok;
    }
  }
  void reset() override {
    inflateReset(&z_);
    boundary_ = false;
    message_.clear();
  }
  std::string message() const override { return message_; }

 private:
  StreamStatus fail(std::string why) {
    message_ = std::move(why);
    return StreamStatus::Corrupt;
  }
  z_stream z_{};
  bool ok_ = false;
  bool boundary_ = false;  // between members: the input may end here
  std::string message_;
};

}  // namespace

std::unique_ptr<StreamDecoder> make_gzip_decoder() { return std::make_unique<GzipDecoder>(); }

}  // namespace qflash::detail
