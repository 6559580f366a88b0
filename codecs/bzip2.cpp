// bzip2 streams with libbz2. libbz2 has no parallel decoder, but a bzip2
// block depends on nothing before it: with several threads the input is cut
// at the 48-bit block magic (at any bit offset), each block is wrapped as a
// one-block stream of its own (header, the block's bits moved to a byte
// boundary, end-of-stream marker, the block's CRC as the combined CRC) and
// libbz2 decodes it on a worker thread, checking the block CRC. The magic can
// also occur by chance inside compressed data: a piece that does not decode
// is joined with the next and tried again, so a chance magic costs time,
// not the stream. Memory stays bounded whatever the input: a few blocks in
// flight per thread, decoded bytes handed on in pieces, a piece longer than
// any block refused. Output stays in input order; on one thread the stream
// is decoded as it comes, with no cutting.
#include <bzlib.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "codecs/stream_impl.h"

namespace qflash::detail {
namespace {

constexpr char kCorrupt[] = "compressed data is corrupt";
constexpr char kStreamCrc[] =
    "compressed data is corrupt (the stream CRC does not match its blocks)";

// One thread: the stream as it comes, with no cutting.
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
      if (r == BZ_DATA_ERROR || r == BZ_DATA_ERROR_MAGIC) return fail(kCorrupt);
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

 private:
  bz_stream s_{};
  bool ok_ = false;
  bool boundary_ = false;
};

// ---- The parallel decoder ----

constexpr uint64_t kBlockMagic = 0x314159265359;
constexpr uint64_t kEndMagic = 0x177245385090;
constexpr uint64_t kMagicMask = (uint64_t(1) << 48) - 1;
// The scan's filter: a magic that ends inside byte i (at any of the 8 bit
// offsets) spans bytes i-2 and i-1 whole. One bit per 16-bit value they may
// hold lets the scan test the 16 offsets and magics only at 1 byte in 4096.
constexpr auto kMagicPairs = [] {
  std::array<uint8_t, 65536 / 8> t{};
  for (uint64_t m : {kBlockMagic, kEndMagic}) {
    for (unsigned s = 0; s < 8; ++s) {
      const unsigned v = (m >> (8 - s)) & 0xFFFF;
      t[v / 8] |= uint8_t(1 << (v % 8));
    }
  }
  return t;
}();

// The longest compressed block libbz2 takes from any encoder: at most 900000
// symbols (level 9) of at most 20 bits, and tables well under 64 KiB. A piece
// longer than this holds no block boundary where one must be: corrupt.
constexpr size_t kMaxBlockBytes = 900000 * 20 / 8 + (64 << 10);
// Bytes tried for one block before it is called corrupt. Each bit offset
// matches a magic by chance with probability 2^-48, so a real block is
// almost never cut; the bound keeps hostile input (a magic every few bytes,
// each piece joined and tried again) from costing time quadratic in the
// block size. A crafted valid file with a magic every few hundred bytes of
// one block would be refused: there is no sequential fallback.
constexpr uint64_t kMaxTriedBytes = 8 * kMaxBlockBytes;
// Decoded bytes a block holds before it is its turn: a block can expand to
// 45 MB (runs of 255), so it is handed on in pieces of this size.
constexpr size_t kOutChunk = 4 << 20;
// Blocks decoding or decoded ahead of the one being handed on, per thread.
constexpr unsigned kJobsPerThread = 3;
// What one thread costs: its jobs' input and output, libbz2's state for a
// level 9 block (4 bytes per symbol) and the wrapped copy of the input.
constexpr uint64_t kThreadMemory =
    kJobsPerThread * (kOutChunk + kMaxBlockBytes) + 900000 * 4 + kMaxBlockBytes;
// Input taken per scan: bounds what a cut copies into the next piece.
constexpr size_t kFeedChunk = 64 << 10;

// The `n` (<= 32) bits of `b` from bit `pos` on, the first bit the highest.
uint32_t get_bits(std::span<const uint8_t> b, uint64_t pos, unsigned n) {
  const size_t first = pos / 8, count = (pos % 8 + n + 7) / 8;
  uint64_t v = 0;
  for (size_t i = 0; i < count; ++i) v = v << 8 | b[first + i];
  return uint32_t(v >> (count * 8 - pos % 8 - n) & ((uint64_t(1) << n) - 1));
}

// Bits [skip, skip + bits) of `bytes`: one block of a stream at level `level`
// (its magic first), or several joined when a chance magic cut one.
struct Piece {
  std::vector<uint8_t> bytes;
  unsigned skip = 0;
  uint64_t bits = 0;
  uint8_t level = '9';
  bool ends_stream = false;  // the end-of-stream marker follows
  uint32_t stream_crc = 0;   // its combined CRC
  uint64_t tried = 0;        // bytes of the failed tries before this one

  // The CRC in the block header (none in a piece too short to be a block).
  uint32_t crc() const { return bits >= 80 ? get_bits(bytes, skip + 48, 32) : 0; }

  // Appends `next`, which starts at the bit this piece ends.
  void join(Piece&& next) {
    tried += bytes.size();
    bytes.resize((skip + bits) / 8);
    bytes.insert(bytes.end(), next.bytes.begin(), next.bytes.end());
    bits += next.bits;
    ends_stream = next.ends_stream;
    stream_crc = next.stream_crc;
  }
};

// `p` as a one-block stream: "BZh" and the level, the block at a byte
// boundary, the end-of-stream magic and the block's CRC as the combined CRC
// (for one block they are equal), zero-padded to a byte.
void wrap(const Piece& p, std::vector<uint8_t>& w) {
  w.resize(4 + (p.bits + 80 + 7) / 8);
  std::memcpy(w.data(), "BZh", 3);
  w[3] = p.level;
  const uint8_t* b = p.bytes.data();
  const uint64_t whole = p.bits / 8;
  uint8_t* o = w.data() + 4;
  if (p.skip == 0) {
    std::memcpy(o, b, whole);
  } else {
    for (uint64_t i = 0; i < whole; ++i) o[i] = uint8_t(b[i] << p.skip | b[i + 1] >> (8 - p.skip));
  }
  o += whole;
  // The block's last bits, then 80 bits of trailer.
  uint64_t acc = 0;
  unsigned n = 0;
  auto put = [&](uint64_t v, unsigned k) {
    acc = acc << k | v;
    n += k;
    while (n >= 8) {
      *o++ = uint8_t(acc >> (n - 8));
      n -= 8;
    }
  };
  if (const unsigned rest = unsigned(p.bits % 8))
    put(get_bits(p.bytes, p.skip + whole * 8, rest), rest);
  put(kEndMagic, 48);
  put(p.crc(), 32);
  if (n) *o++ = uint8_t(acc << (8 - n));
}

// The caller's thread cuts the input into pieces (jobs, in input order) and
// hands on the first job's bytes; the worker threads, made here and joined
// in the destructor, decode the jobs first queued first.
class ParallelBzip2Decoder final : public StreamDecoder {
 public:
  explicit ParallelBzip2Decoder(unsigned threads) : max_jobs_(threads * kJobsPerThread) {
    try {
      for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
    } catch (const std::system_error&) {
      // No more threads to be had: those made do the work (threads() says).
    }
  }
  ~ParallelBzip2Decoder() override {
    {
      std::unique_lock lock(mu_);
      stop_ = true;
    }
    cancel_all();
    for (auto& t : workers_) t.join();
  }

  StreamStatus decode(std::span<const uint8_t>& in, std::span<uint8_t>& out, bool last) override {
    while (message_.empty()) {
      const size_t had_in = in.size(), had_out = out.size();
      feed(in, last);
      if (message_.empty()) hand_on(out);
      if (!message_.empty()) break;
      if (jobs_.empty() && !ready_ && eof_ != Eof::None) {
        if (eof_ == Eof::Clean) return StreamStatus::End;
        if (eof_ == Eof::Trailing)
          return fail("compressed data is followed by bytes that are not bzip2");
        return StreamStatus::Ok;  // truncated: the caller says so
      }
      if (in.size() != had_in || out.size() != had_out || out.empty()) return StreamStatus::Ok;
      if (in.empty() && !last) return StreamStatus::Ok;
      // Nothing to take or give until the first block moves on.
      if (jobs_.empty()) return StreamStatus::Ok;
      std::unique_lock lock(mu_);
      Job& h = *jobs_.front();
      done_cv_.wait(lock, [&] { return h.published > h.read || h.state >= State::Done; });
    }
    return StreamStatus::Corrupt;
  }

  void reset() override {
    cancel_all();
    jobs_.clear();
    ready_.reset();
    buf_.clear();
    start_ = scan_ = 0;
    window_ = 0;
    trailer_.reset();
    state_ = Scan::Header;
    level_ = '9';
    eof_ = Eof::None;
    seen_stream_ = false;
    combined_ = 0;
    message_.clear();
  }
  // Worker threads running.
  size_t threads() const { return workers_.size(); }

 private:
  enum class State { Queued, Running, Done, Failed };
  struct Job {
    Piece piece;
    State state = State::Queued;
    bool cancel = false;
    bool streamed = false;  // bytes were handed on before the CRC was checked
    std::unique_ptr<uint8_t[]> out = std::make_unique_for_overwrite<uint8_t[]>(kOutChunk);
    size_t write = 0, published = 0, read = 0;  // read <= published <= write
  };
  enum class Scan { Header, Blocks };
  enum class Eof { None, Clean, Truncated, Trailing };

  // ---- Worker side ----

  // A worker thread: decodes queued jobs, first queued first, until stop_.
  void work() {
    std::vector<uint8_t> wrapped;
    std::unique_lock lock(mu_);
    while (true) {
      work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      Job& j = *queue_.front();
      queue_.pop_front();
      j.state = State::Running;
      lock.unlock();
      const bool ok = decode_job(j, wrapped);
      lock.lock();
      j.state = ok ? State::Done : State::Failed;
      done_cv_.notify_all();
    }
  }

  // Decodes `j` into its output, handing it on as it fills; false if the
  // piece is not one whole block (or cancelled).
  bool decode_job(Job& j, std::vector<uint8_t>& wrapped) {
    wrap(j.piece, wrapped);
    bz_stream s{};
    if (BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK) return false;
    struct End {
      bz_stream* s;
      ~End() { BZ2_bzDecompressEnd(s); }
    } end{&s};
    s.next_in = reinterpret_cast<char*>(wrapped.data());
    s.avail_in = unsigned(wrapped.size());
    while (true) {
      size_t at;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [&] { return j.cancel || j.write < kOutChunk || j.read == kOutChunk; });
        if (j.cancel) return false;
        if (j.write == kOutChunk) j.write = j.published = j.read = 0;
        at = j.write;
      }
      s.next_out = reinterpret_cast<char*>(j.out.get() + at);
      s.avail_out = unsigned(kOutChunk - at);
      const unsigned had_in = s.avail_in;
      const int r = BZ2_bzDecompress(&s);
      const size_t made = kOutChunk - at - s.avail_out;
      std::unique_lock lock(mu_);
      j.write += made;
      if (r == BZ_STREAM_END) {
        if (s.avail_in != 0) return false;  // more than one block: a wrong cut
        j.published = j.write;
        return true;
      }
      if (r != BZ_OK) return false;
      if (j.write == kOutChunk) {
        // Too much to hold until the CRC: handed on unchecked, as a
        // one-thread decoder does with every block.
        j.published = kOutChunk;
        j.streamed = true;
        done_cv_.notify_all();
      }
      if (made == 0 && s.avail_in == had_in) return false;  // ran out: a cut block
    }
  }

  // ---- Consumer side ----

  // Stops every job and waits until no worker holds one.
  void cancel_all() {
    std::unique_lock lock(mu_);
    queue_.clear();
    for (auto& j : jobs_) j->cancel = true;
    work_cv_.notify_all();
    done_cv_.wait(lock, [&] {
      return std::none_of(jobs_.begin(), jobs_.end(),
                          [](const auto& j) { return j->state == State::Running; });
    });
  }

  void submit(Piece&& p) {
    auto j = std::make_unique<Job>();
    j->piece = std::move(p);
    std::unique_lock lock(mu_);
    queue_.push_back(j.get());
    jobs_.push_back(std::move(j));
    work_cv_.notify_all();
  }

  // Gives the first job's decoded bytes to `out`, retiring finished jobs and
  // joining a failed one with the piece after it.
  void hand_on(std::span<uint8_t>& out) {
    while (!jobs_.empty()) {
      Job& h = *jobs_.front();
      std::unique_lock lock(mu_);
      const size_t n = std::min(h.published - h.read, out.size());
      const uint8_t* from = h.out.get() + h.read;
      lock.unlock();
      std::memcpy(out.data(), from, n);  // the worker writes only past `published`
      out = out.subspan(n);
      lock.lock();
      h.read += n;
      if (h.read == kOutChunk) work_cv_.notify_all();
      const State st = h.state;
      const bool drained = h.read == h.published;
      lock.unlock();
      if (st == State::Done && drained) {
        combined_ = (combined_ << 1 | combined_ >> 31) ^ h.piece.crc();
        if (h.piece.ends_stream) {
          if (combined_ != h.piece.stream_crc) return (void)fail(kStreamCrc);
          combined_ = 0;
        }
        jobs_.pop_front();
        continue;
      }
      if (st != State::Failed) return;
      if (h.streamed || h.piece.ends_stream) return (void)fail(kCorrupt);
      // Cut at a chance magic, or corrupt: join the next piece and retry.
      std::optional<Piece> next;
      if (jobs_.size() >= 2) {
        lock.lock();
        Job& j = *jobs_[1];
        j.cancel = true;
        std::erase(queue_, &j);
        work_cv_.notify_all();
        done_cv_.wait(lock, [&] { return j.state != State::Running; });
        lock.unlock();
        next = std::move(j.piece);
        jobs_.erase(jobs_.begin() + 1);
      } else {
        if (eof_ == Eof::Clean || eof_ == Eof::Trailing) return (void)fail(kCorrupt);
        if (eof_ == Eof::Truncated) jobs_.pop_front();  // its end is in the missing part
        return;  // else the next piece is not cut yet
      }
      h.piece.join(std::move(*next));
      if (h.piece.bytes.size() > kMaxBlockBytes || h.piece.tried > kMaxTriedBytes)
        return (void)fail(kCorrupt);
      lock.lock();
      h.state = State::Queued;
      h.write = h.published = h.read = 0;
      queue_.push_front(&h);
      work_cv_.notify_all();
      return;
    }
  }

  // Takes input and cuts it into pieces while jobs may be added.
  void feed(std::span<const uint8_t>& in, bool last) {
    while (message_.empty()) {
      if (ready_) {
        if (jobs_.size() >= max_jobs_) return;
        submit(std::move(*ready_));
        ready_.reset();
      }
      if (eof_ != Eof::None) return;
      if (scan(in.empty() && last)) continue;
      if (!message_.empty() || eof_ != Eof::None) return;
      if (in.empty()) return;
      if (buf_.size() > kMaxBlockBytes + 16)
        return (void)fail(kCorrupt + std::string(" (no block boundary where one must be)"));
      const size_t n = std::min(in.size(), kFeedChunk);
      buf_.insert(buf_.end(), in.begin(), in.begin() + n);
      in = in.subspan(n);
    }
  }

  // Scans `buf_` for the next cut: true when a piece is ready. `at_end`: no
  // more input will come.
  bool scan(bool at_end) {
    if (state_ == Scan::Header) return scan_header(at_end);
    const uint8_t* b = buf_.data();
    const size_t size = buf_.size();
    uint64_t w = window_;
    for (size_t i = scan_; i < size; ++i) {
      const uint64_t before = w;
      w = w << 8 | b[i];
      const unsigned pair = (w >> 8) & 0xFFFF;
      if (!(kMagicPairs[pair / 8] >> (pair % 8) & 1)) [[likely]] continue;
      for (unsigned s = 0; s < 8; ++s) {
        const uint64_t m = (w >> s) & kMagicMask;
        if (m != kBlockMagic && m != kEndMagic) continue;
        const uint64_t at = (i + 1) * 8 - s - 48;  // the magic's first bit
        if (at <= start_) continue;  // this piece's own magic
        if (m == kBlockMagic) {
          cut(at, i + 1, w);
          return true;
        }
        // End of stream, if a new stream or the end of input follows (a
        // chance magic would have to be followed by another 80 bits that
        // match too).
        const size_t next = (at + 80 + 7) / 8;
        if (size < next + 10 && !at_end) {
          scan_ = i;
          window_ = before;
          return false;  // wait for the bytes that decide
        }
        if (size < next) continue;  // the input ends inside it
        const bool real = size == next ||
                          (size >= next + 10 && std::memcmp(b + next, "BZh", 3) == 0 &&
                           b[next + 3] >= '1' && b[next + 3] <= '9' && is_magic_at(next + 4));
        if (!real) {
          trailer_ = at;
          continue;
        }
        Piece p = take_piece(at);
        p.ends_stream = true;
        p.stream_crc = get_bits(buf_, at + 48, 32);
        buf_.erase(buf_.begin(), buf_.begin() + next);
        state_ = Scan::Header;
        ready_ = std::move(p);
        return true;
      }
    }
    scan_ = size;
    window_ = w;
    if (!at_end) return false;
    // The input ends inside a block: truncated, unless an end-of-stream
    // marker came before with bytes after it that are not bzip2.
    if (!trailer_) {
      eof_ = Eof::Truncated;
      return false;
    }
    Piece p = take_piece(*trailer_);
    p.ends_stream = true;
    p.stream_crc = get_bits(buf_, *trailer_ + 48, 32);
    ready_ = std::move(p);
    eof_ = Eof::Trailing;
    return true;
  }

  bool is_magic_at(size_t i) const {
    uint64_t m = 0;
    for (size_t k = 0; k < 6; ++k) m = m << 8 | buf_[i + k];
    return m == kBlockMagic || m == kEndMagic;
  }

  // The block from `start_` to bit `at` as a piece (buf_ keeps its bytes).
  Piece take_piece(uint64_t at) {
    Piece p;
    p.bytes.assign(buf_.begin(), buf_.begin() + (at + 7) / 8);
    p.skip = unsigned(start_);
    p.bits = at - start_;
    p.level = level_;
    return p;
  }

  // Cuts the open block at bit `at`, where the next begins; `scanned` bytes
  // of buf_ are in `w`.
  void cut(uint64_t at, size_t scanned, uint64_t w) {
    ready_ = take_piece(at);
    buf_.erase(buf_.begin(), buf_.begin() + at / 8);
    start_ = at % 8;
    scan_ = scanned - at / 8;
    window_ = w;
    trailer_.reset();
  }

  // A stream header and its first magic: a block (opened) or the end of an
  // empty stream.
  bool scan_header(bool at_end) {
    const uint8_t* b = buf_.data();
    if (buf_.size() < 10) {
      if (!at_end) return false;
      if (buf_.empty() && seen_stream_) eof_ = Eof::Clean;
      else if (seen_stream_ && std::memcmp(b, "BZh", std::min<size_t>(3, buf_.size())) != 0)
        eof_ = Eof::Trailing;
      else
        eof_ = Eof::Truncated;
      return false;
    }
    if (std::memcmp(b, "BZh", 3) != 0 || b[3] < '1' || b[3] > '9' || !is_magic_at(4)) {
      if (seen_stream_) eof_ = Eof::Trailing;
      else fail("not a bzip2 stream");
      return false;
    }
    uint64_t m = 0;
    for (size_t k = 4; k < 10; ++k) m = m << 8 | b[k];
    if (m == kEndMagic) {  // an empty stream: its combined CRC is 0
      if (buf_.size() < 14) {
        if (at_end) eof_ = Eof::Truncated;
        return false;
      }
      if (get_bits(buf_, 80, 32) != 0) return fail(kStreamCrc), false;
      buf_.erase(buf_.begin(), buf_.begin() + 14);
      seen_stream_ = true;
      return scan_header(at_end);
    }
    level_ = b[3];
    seen_stream_ = true;
    buf_.erase(buf_.begin(), buf_.begin() + 4);
    state_ = Scan::Blocks;
    start_ = 0;
    scan_ = 6;
    window_ = 0;
    for (size_t k = 0; k < 6; ++k) window_ = window_ << 8 | buf_[k];
    trailer_.reset();
    return false;
  }

  const unsigned max_jobs_;
  std::vector<std::thread> workers_;

  // Shared with the workers, under mu_.
  std::mutex mu_;
  std::condition_variable work_cv_;  // queue_ or a job's room or cancel changed
  std::condition_variable done_cv_;  // a job published bytes or ended
  std::deque<Job*> queue_;           // jobs no worker has taken yet
  bool stop_ = false;
  // Jobs in input order (the consumer adds and removes them; workers change
  // a job's state and counters under mu_).
  std::deque<std::unique_ptr<Job>> jobs_;

  // The scanner (consumer only).
  std::vector<uint8_t> buf_;      // from the byte holding the open block's first bit
  uint64_t start_ = 0;            // the open block's first bit in buf_
  size_t scan_ = 0;               // bytes of buf_ scanned for magics
  uint64_t window_ = 0;           // the last 8 scanned bytes
  std::optional<uint64_t> trailer_;  // an end-of-stream magic not followed by a stream
  Scan state_ = Scan::Header;
  uint8_t level_ = '9';
  bool seen_stream_ = false;
  Eof eof_ = Eof::None;
  std::optional<Piece> ready_;    // cut, waiting for room among the jobs
  uint32_t combined_ = 0;         // combined CRC of the stream's blocks handed on
};

}  // namespace

std::unique_ptr<StreamDecoder> make_bzip2_decoder(unsigned threads, uint64_t memory_limit) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  // Fewer threads where the memory allowed would not hold them all.
  threads = unsigned(std::clamp<uint64_t>(memory_limit / kThreadMemory, 1, threads));
  if (threads > 1) {
    auto parallel = std::make_unique<ParallelBzip2Decoder>(threads);
    if (parallel->threads() > 1) return parallel;
  }
  return std::make_unique<Bzip2Decoder>();
}

}  // namespace qflash::detail
