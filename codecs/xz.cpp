// xz streams with liblzma. The multi-threaded decoder (liblzma >= 5.4)
// decodes the blocks of a multi-block stream (xz -T0) in parallel; a
// single-block stream decodes on one thread, as with every tool.
#include <lzma.h>

#include <thread>

#include "codecs/stream_impl.h"

namespace qflash::detail {
namespace {

const char* lzma_text(lzma_ret r) {
  switch (r) {
    case LZMA_MEM_ERROR: return "out of memory";
    case LZMA_MEMLIMIT_ERROR: return "the stream needs more memory than allowed (dictionary too large)";
    case LZMA_FORMAT_ERROR: return "not an xz stream";
    case LZMA_OPTIONS_ERROR: return "unsupported xz options";
    case LZMA_DATA_ERROR: return "compressed data is corrupt";
    case LZMA_BUF_ERROR: return "compressed data is truncated";
    default: return "xz decoder error";
  }
}

class XzDecoder final : public StreamDecoder {
 public:
  XzDecoder(unsigned threads, uint64_t memory_limit) {
    mt_.flags = LZMA_CONCATENATED;
    mt_.threads = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
    // Above this the decoder falls back to one thread rather than failing;
    // above memlimit_stop it fails (a stream claiming an absurd dictionary).
    mt_.memlimit_threading = memory_limit;
    mt_.memlimit_stop = memory_limit;
    reset();
  }
  ~XzDecoder() override { lzma_end(&s_); }

  StreamStatus decode(std::span<const uint8_t>& in, std::span<uint8_t>& out, bool last) override {
    if (init_ != LZMA_OK) return fail(lzma_text(init_));
    s_.next_in = in.data();
    s_.avail_in = in.size();
    s_.next_out = out.data();
    s_.avail_out = out.size();
    const lzma_ret r = lzma_code(&s_, last ? LZMA_FINISH : LZMA_RUN);
    in = in.subspan(in.size() - s_.avail_in);
    out = out.subspan(out.size() - s_.avail_out);
    if (r == LZMA_STREAM_END) return StreamStatus::End;
    if (r == LZMA_OK || r == LZMA_BUF_ERROR) return StreamStatus::Ok;
    return fail(lzma_text(r));
  }
  void reset() override {
    lzma_end(&s_);
    s_ = LZMA_STREAM_INIT;
    init_ = lzma_stream_decoder_mt(&s_, &mt_);
    message_.clear();
  }

 private:
  lzma_stream s_ = LZMA_STREAM_INIT;
  lzma_mt mt_{};
  lzma_ret init_ = LZMA_PROG_ERROR;
};

}  // namespace

std::unique_ptr<StreamDecoder> make_xz_decoder(unsigned threads, uint64_t memory_limit) {
  return std::make_unique<XzDecoder>(threads, memory_limit);
}

}  // namespace qflash::detail
