// gzip members with ISA-L's igzip, the fastest streaming inflater Debian
// packages: bench/bench_gunzip.cpp measured it 20% ahead of zlib per CPU
// second on real files. libdeflate, faster still, has no streaming API (it
// needs the whole stream and its output in memory).
#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "codecs/stream_impl.h"

namespace qflash::detail {
namespace {

// How far one isal_inflate call moved a counter (avail_in, avail_out) down
// from `before` to `after`. On a corrupt stream igzip can hand back bytes
// it had read ahead and leave avail_in above where it started (found by
// fuzz_streams): that counts as nothing, where the subtraction would wrap.
uint32_t moved(uint32_t before, uint32_t after) { return after <= before ? before - after : 0; }

const char* isal_text(int r) {
  switch (r) {
    case ISAL_INVALID_BLOCK: return "invalid deflate block";
    case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK: return "invalid distance too far back";
    case ISAL_INVALID_WRAPPER: return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM: return "incorrect data check";
    default: return "gzip decoder error";
  }
}

class GzipDecoder final : public StreamDecoder {
 public:
  GzipDecoder() : st_(std::make_unique<inflate_state>()) { reset(); }

  StreamStatus decode(std::span<const uint8_t>& in, std::span<uint8_t>& out, bool last) override {
    while (true) {
      if (in.empty() && boundary_) return last ? StreamStatus::End : StreamStatus::Ok;
      if (in.empty() || out.empty()) return StreamStatus::Ok;
      if (!header_done_) {
        if (auto st = take_header(in, out); st != StreamStatus::Ok || !header_done_) return st;
        continue;
      }
      const size_t given = in.size(), room = out.size();
      const int r = isal_inflate_step(*st_, in, out);
      boundary_ = false;
      if (r < 0) return fail(isal_text(r));
      if (st_->block_state == ISAL_BLOCK_FINISH) {
        // Another member may follow (pigz --independent, cat a.gz b.gz).
        start_member();
        boundary_ = true;
        continue;
      }
      if (given == in.size() && room == out.size()) return StreamStatus::Ok;
    }
  }
  void reset() override {
    start_member();
    boundary_ = false;
    message_.clear();
  }

 private:
  // A member's gzip header reaches isal_inflate whole: given one cut short
  // (the first bytes of a pipe), it sometimes took the rest for deflate
  // data ("invalid deflate block", seen under ASan). The header's bytes are
  // gathered here until its length is known and all of it came.
  StreamStatus take_header(std::span<const uint8_t>& in, std::span<uint8_t>& out) {
    const size_t before = header_.size();
    const size_t take = std::min(in.size(), kMaxHeader - before);
    header_.insert(header_.end(), in.begin(), in.begin() + ptrdiff_t(take));
    if (take > 0) boundary_ = false;  // a member has begun: the input may not end here
    const std::optional<size_t> length = header_length();
    if (!length) {
      in = in.subspan(take);
      if (header_.size() < kMaxHeader) return StreamStatus::Ok;  // more to come
      return fail("gzip header longer than " + std::to_string(kMaxHeader) + " bytes");
    }
    in = in.subspan(*length - before);  // what follows the header stays for inflate
    header_.resize(*length);
    st_->next_in = header_.data();
    st_->avail_in = uint32_t(header_.size());
    st_->next_out = out.data();
    st_->avail_out = uint32_t(std::min<size_t>(out.size(), UINT32_MAX));
    const int r = isal_inflate(st_.get());
    if (r < 0 || st_->avail_in != 0 || st_->avail_out != std::min<size_t>(out.size(), UINT32_MAX))
      return fail(r < 0 ? isal_text(r) : "invalid gzip header");
    header_done_ = true;
    header_.clear();
    return StreamStatus::Ok;
  }

  // The length of the gzip header at the start of header_ (RFC 1952 2.3:
  // 10 bytes, then the optional extra field, name, comment and header CRC),
  // or nullopt while header_ does not hold all of it.
  std::optional<size_t> header_length() const {
    const std::vector<uint8_t>& h = header_;
    if (h.size() < 10) return std::nullopt;
    const uint8_t flags = h[3];
    size_t at = 10;
    if (flags & 4) {  // FEXTRA: a 2-byte length, then that many bytes
      if (h.size() < at + 2) return std::nullopt;
      at += 2 + size_t(h[at] | h[at + 1] << 8);
    }
    for (uint8_t field : {uint8_t(8), uint8_t(16)}) {  // FNAME, FCOMMENT: zero-terminated
      if (!(flags & field)) continue;
      while (at < h.size() && h[at] != 0) ++at;
      if (at >= h.size()) return std::nullopt;
      ++at;
    }
    if (flags & 2) at += 2;  // FHCRC
    if (h.size() < at) return std::nullopt;
    return at;
  }

  void start_member() {
    isal_inflate_init(st_.get());
    st_->crc_flag = ISAL_GZIP;
    header_done_ = false;
    header_.clear();
  }
  static constexpr size_t kMaxHeader = 64 * 1024;
  std::vector<uint8_t> header_;
  bool header_done_ = false;
  std::unique_ptr<inflate_state> st_;
  bool boundary_ = false;  // between members: the input may end here
};

}  // namespace

std::unique_ptr<StreamDecoder> make_gzip_decoder() { return std::make_unique<GzipDecoder>(); }

int isal_inflate_step(inflate_state& st, std::span<const uint8_t>& in, std::span<uint8_t>& out) {
  st.next_in = const_cast<uint8_t*>(in.data());
  st.avail_in = uint32_t(std::min<size_t>(in.size(), UINT32_MAX));
  st.next_out = out.data();
  st.avail_out = uint32_t(std::min<size_t>(out.size(), UINT32_MAX));
  const uint32_t avail_in = st.avail_in, avail_out = st.avail_out;
  const int r = isal_inflate(&st);
  in = in.subspan(moved(avail_in, st.avail_in));
  out = out.subspan(moved(avail_out, st.avail_out));
  return r;
}

}  // namespace qflash::detail
