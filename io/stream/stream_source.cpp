// StreamSource: passes over the stream, each with its decoder, input
// position and window of decoded bytes, under one mutex. Each pass decodes
// on a thread of its own, ahead of its readers once they read in bulk:
// decoding is the run's critical path, and the readers' copying out of the
// window (and what they do with the bytes next) goes on beside it. A
// reader behind every window gets a second pass of its own, so the shared
// pass is never restarted for it.
#include "io/stream/stream_source.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "io/base/out_of_memory.h"
#include "io/stream/stream_size.h"


namespace qflash {
namespace {

constexpr size_t kInputBlock = 2u << 20;  // compressed bytes read at once
// Decoded bytes made at once: what a reader past the window waits for.
constexpr size_t kStep = 1u << 20;
// Readers that have asked for this much are reading the stream through,
// not looking at its head: the decoder goes ahead of them.
constexpr uint64_t kAheadAfter = 8u << 20;
// Bytes of standard input read to detect the format: the longest zstd frame
// header, more than any magic needs.
constexpr size_t kStdinHead = 18;

// Where the compressed bytes come from: a Source (restartable) or a pipe.
class Input {
 public:
  virtual ~Input() = default;
  virtual Result<size_t> read(std::span<uint8_t> buf) = 0;
  virtual bool restartable() const = 0;
  virtual void restart() = 0;
  virtual uint64_t position() const = 0;
};

class SourceInput final : public Input {
 public:
  explicit SourceInput(SourcePtr src) : src_(std::move(src)) {}
  Result<size_t> read(std::span<uint8_t> buf) override {
    QF_ASSIGN(size_t n, src_->read_at(buf, pos_));
    pos_ += n;
    return n;
  }
  bool restartable() const override { return true; }
  void restart() override { pos_ = 0; }
  uint64_t position() const override { return pos_; }
  const SourcePtr& source_ptr() const { return src_; }

 private:
  SourcePtr src_;
  uint64_t pos_ = 0;
};

class PipeInput final : public Input {
 public:
  PipeInput(int fd, std::vector<uint8_t> head) : fd_(fd), head_(std::move(head)) {}
  Result<size_t> read(std::span<uint8_t> buf) override {
    if (head_used_ < head_.size()) {  // the bytes read to detect the format
      const size_t n = std::min(buf.size(), head_.size() - head_used_);
      std::memcpy(buf.data(), head_.data() + head_used_, n);
      head_used_ += n;
      pos_ += n;
      return n;
    }
    while (true) {
      const ssize_t n = ::read(fd_, buf.data(), buf.size());
      if (n >= 0) {
        pos_ += uint64_t(n);
        return size_t(n);
      }
      if (errno != EINTR) return io_error(std::string("read ") + kStdinName, errno);
    }
  }
  bool restartable() const override { return false; }
  void restart() override {}
  uint64_t position() const override { return pos_; }

 private:
  int fd_;
  std::vector<uint8_t> head_;
  size_t head_used_ = 0;
  uint64_t pos_ = 0;
};

std::unique_ptr<StreamDecoder> decoder_for(std::optional<StreamFormat> format,
                                           const StreamOptions& options) {
  if (!format) return nullptr;
  return make_stream_decoder(*format, options.threads, options.decoder_memory);
}

// One pass over the stream: its input position, decoder and window, and the
// thread that decodes it. That thread alone touches `input`, `decoder` and
// `in`, and writes only into the free part of the ring, outside the mutex;
// the rest is under the source's mutex, where it publishes what it made.
struct Pass {
  std::unique_ptr<Input> input;
  std::unique_ptr<StreamDecoder> decoder;  // null: raw bytes from a pipe
  // Not zero-filled: the decoder writes every byte before it is read, and
  // a memset of the window is a visible share of a short run.
  std::unique_ptr<uint8_t[]> window, in_buf;
  size_t ring = 0;
  std::span<const uint8_t> in;
  uint64_t win_start = 0, win_len = 0, decoded = 0;
  bool ended = false, input_eof = false;
  uint64_t last_use = 0;
  uint64_t wanted = 0;  // the end of what readers are at (capped at kStep past each)
  Status error;         // what stopped the decoder, at byte `decoded`
  bool busy = false;    // the decoder works outside the mutex
  bool stop = false;
  std::condition_variable progress;  // for readers: bytes made, the end, an error, idle
  std::condition_variable work;      // for the decoder: more wanted, or stop
  std::thread thread;
};

class StreamSource final : public Source {
 public:
  StreamSource(std::string name, SourcePtr inner, std::unique_ptr<Input> input,
               std::optional<StreamFormat> format, const StreamOptions& options, StreamInfo info)
      : name_(std::move(name)), inner_(std::move(inner)), format_(format), options_(options),
        info_(std::move(info)) {
    passes_.push_back(make_pass(std::move(input)));
  }
  ~StreamSource() override {
    for (auto& p : passes_) {
      {
        std::lock_guard lock(mu_);
        p->stop = true;
      }
      p->work.notify_all();
      if (p->thread.joinable()) p->thread.join();
    }
  }

  Result<size_t> read_at(std::span<uint8_t> buf, uint64_t offset) const override {
    std::unique_lock lock(mu_);
    size_t done = 0;
    while (done < buf.size()) {
      if (!error_.ok()) return Error(error_.error());
      const uint64_t pos = offset + done;
      if (pos >= size_ || (end_ && pos >= *end_)) break;
      auto pass = pass_for(pos, lock);
      if (!pass) {
        error_ = Error(pass.error());
        continue;
      }
      Pass& p = **pass;
      p.last_use = ++uses_;
      want(p, pos + std::min<uint64_t>(buf.size() - done, kStep));
      const uint64_t win_end = p.win_start + p.win_len;
      if (pos < win_end) {
        // Up to the window's end or the ring's wrap, whichever is first.
        const size_t at = size_t(pos % p.ring);
        const size_t n = size_t(std::min<uint64_t>({win_end - pos, buf.size() - done, p.ring - at}));
        std::memcpy(buf.data() + done, p.window.get() + at, n);
        done += n;
        continue;
      }
      if (!p.error.ok()) {
        error_ = p.error;  // the stream is broken for every later reader too
      } else if (p.ended) {
        error_ = ended_early(p);
      } else {
        p.progress.wait(lock);
      }
    }
    return done;
  }
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }
  bool same_file(dev_t dev, ino_t ino) const override { return inner_ && inner_->same_file(dev, ino); }
  std::string identity() const override { return inner_ ? inner_->identity() : name_; }
  std::string resolve(const std::string& ref) const override {
    return inner_ ? inner_->resolve(ref) : ref;
  }
  Status check_unchanged() const override { return inner_ ? inner_->check_unchanged() : Status{}; }
  const StreamInfo* stream_info() const override { return &info_; }
  bool size_is_bound() const override { return bound_; }
  std::optional<uint64_t> found_end() const override {
    std::lock_guard lock(mu_);
    return end_;
  }
  // A stream read up to the bound without reaching its end is longer than
  // the most taken from it. One whose size was known and whose every byte
  // was decoded is decoded on to its end, a few bytes at most: the checks a
  // format keeps for its end (gzip's and zip's CRC-32, xz's check) come
  // after the last byte of data, which the run may have taken without them.
  Status settle() const override {
    std::unique_lock lock(mu_);
    if (!error_.ok()) return error_;
    if (bound_) return end_ ? Status{} : corrupt(name_ + ": " + stream() + " goes on past " + announced());
    for (auto& p : passes_) {
      if (p->decoded < size_) continue;
      want(*p, UINT64_MAX);
      p->progress.wait(lock, [&] { return p->ended || !p->error.ok(); });
      if (!p->error.ok()) return error_ = p->error;
    }
    return {};
  }

  // The compressed file's digest is taken from the bytes the passes read,
  // as they first go by (whichever pass reads them); finishing reads what
  // no pass did (the end of the file, past the stream) from the file. A
  // pipe cannot be read apart from its one pass: no digest for it.
  bool start_sha256() const override {
    std::lock_guard lock(sha_mu_);
    hashing_ = inner_ != nullptr;
    return hashing_;
  }
  Result<Sha256::Digest> finish_sha256(const std::atomic<bool>& cancel) const override {
    std::lock_guard lock(sha_mu_);
    if (!hashing_) return Source::finish_sha256(cancel);
    std::vector<uint8_t> buf(kInputBlock);
    while (hashed_ < inner_->size()) {
      if (cancel) return Error{ErrorKind::Interrupted, name_ + ": digest not finished"};
      QF_ASSIGN(size_t n, inner_->read_at(buf, hashed_));
      if (n == 0) return io_error("read " + name_ + " at " + std::to_string(hashed_), EIO);
      sha_.update({buf.data(), n});
      hashed_ += n;
    }
    return sha_.finish();
  }

  void set_size(uint64_t size, std::string from) {
    size_ = size;
    info_.size_from = std::move(from);
  }
  // No size up front: kSizeBound until a pass reaches the end.
  void set_bound() {
    set_size(kSizeBound, "found at its end");
    bound_ = true;
  }
  // Decodes the whole stream once to count its bytes (on the caller's
  // thread, before any reader), then goes back to the start. A corrupt or
  // truncated stream is found here, before any write.
  Result<uint64_t> count() {
    std::unique_lock lock(mu_);
    size_ = UINT64_MAX;
    Pass& p = *passes_.front();
    p.wanted = UINT64_MAX;
    while (!p.ended && p.error.ok()) step(p, lock);
    if (!p.error.ok()) return Error(p.error.error());
    const uint64_t n = p.decoded;
    restart(p, lock);
    return n;
  }

 private:
  // Two passes at most: the shared one and one for a reader that fell
  // behind it (a late target), so that neither restarts the other's.
  static constexpr size_t kMaxPasses = 2;

  std::unique_ptr<Pass> make_pass(std::unique_ptr<Input> input) const {
    auto p = std::make_unique<Pass>();
    p->input = std::move(input);
    p->decoder = decoder_for(format_, options_);
    p->ring = size_t(std::max<uint64_t>(options_.window, 2 * kInputBlock));
    p->window = std::make_unique_for_overwrite<uint8_t[]>(p->ring);
    p->in_buf = std::make_unique_for_overwrite<uint8_t[]>(kInputBlock);
    return p;
  }

  // The pass to serve `pos` from: the one nearest behind it; else a new
  // pass from the start, or the least recently used one restarted.
  Result<Pass*> pass_for(uint64_t pos, std::unique_lock<std::mutex>& lock) const {
    Pass* best = nullptr;
    for (auto& p : passes_)
      if (p->win_start <= pos && (!best || p->win_start > best->win_start)) best = p.get();
    if (best) return best;
    if (!passes_.front()->input->restartable())
      return Error{ErrorKind::Io, name_ + ": the bytes at " + std::to_string(pos) +
                                      " were already passed, and a pipe cannot be read twice "
                                      "(give a file or URL for a second pass)"};
    if (passes_.size() < kMaxPasses) {
      const auto& src = static_cast<const SourceInput&>(*passes_.front()->input);
      passes_.push_back(make_pass(std::make_unique<SourceInput>(src.source_ptr())));
      return passes_.back().get();
    }
    Pass* lru = passes_.front().get();
    for (auto& p : passes_)
      if (p->last_use < lru->last_use) lru = p.get();
    restart(*lru, lock);
    return lru;
  }

  // Back to the start, once the decoder is between pieces. Readers waiting
  // on the pass look again for the pass to read from.
  static void restart(Pass& p, std::unique_lock<std::mutex>& lock) {
    p.progress.wait(lock, [&] { return !p.busy; });
    p.input->restart();
    if (p.decoder) p.decoder->reset();
    p.in = {};
    p.win_start = p.win_len = p.decoded = p.wanted = 0;
    p.ended = p.input_eof = false;
    p.error = {};
    p.progress.notify_all();
  }

  // Readers of `p` are at `until`: the decoder starts (or goes on) if that
  // is past what it made and keeps ahead of.
  void want(Pass& p, uint64_t until) const {
    p.wanted = std::max(p.wanted, until);
    if (!wants_more(p)) return;
    if (!p.thread.joinable()) p.thread = std::thread([this, &p] { run_decoder(p); });
    p.work.notify_one();
  }
  // Whether the pass decodes on: readers wait for bytes it has not made, or
  // they read on in bulk (a run, not a look at the head) and it keeps a
  // quarter of its window ahead of them, the rest for readers behind.
  static bool wants_more(const Pass& p) {
    if (p.ended || !p.error.ok()) return false;
    const uint64_t ahead = p.wanted >= kAheadAfter ? p.ring / 4 : 0;
    return p.decoded < p.wanted || p.decoded - p.wanted < ahead;
  }

  void run_decoder(Pass& p) const {
    std::unique_lock lock(mu_);
    while (true) {
      p.work.wait(lock, [&] { return p.stop || wants_more(p); });
      if (p.stop) return;
      step(p, lock);
    }
  }

  std::string where(const Pass& p) const {
    return " at compressed byte " + std::to_string(p.input->position()) + ", decoded byte " +
           std::to_string(p.decoded);
  }
  // What the bytes are, for messages: "gzip stream", or raw bytes on a pipe.
  std::string stream() const { return format_ ? info_.compression + " stream" : "the data"; }
  // The pass reached the stream's end before its size.
  Error ended_early(const Pass& p) const {
    return corrupt(name_ + ": " + stream() + " ends at byte " + std::to_string(p.decoded) +
                   ", before " + announced());
  }
  std::string announced() const {
    if (bound_)
      return std::to_string(size_) + " bytes, the most taken from a stream that does not say its size";
    const bool given = options_.size_hint && info_.size_from == options_.size_hint_from;
    return "the size " + std::to_string(size_) + (given ? " given (" : " it announced (") +
           info_.size_from + ")";
  }

  // Decodes the next piece of the stream, kStep bytes at most, into the
  // pass's window: a ring in which decoded byte d is at d % size, whose
  // oldest piece is dropped when it is full (nothing moves). Called with
  // `lock` held; decodes without it and publishes under it (the bytes, the
  // end, or p.error).
  void step(Pass& p, std::unique_lock<std::mutex>& lock) const {
    const size_t ring = p.ring;
    if (p.win_len == ring) {
      p.win_start += kStep;
      p.win_len -= kStep;
    }
    const size_t end = size_t(p.decoded % ring);
    std::span<uint8_t> out(p.window.get() + end,
                           std::min({kStep, ring - end, ring - size_t(p.win_len)}));
    const size_t room = out.size();
    p.busy = true;
    lock.unlock();
    const size_t had = p.in.size();
    auto st = catch_bad_alloc(name_ + ": decode", [&] { return decode(p, out); });
    lock.lock();
    p.busy = false;
    p.progress.notify_all();
    if (!st) {
      p.error = Error(st.error());
      return;
    }
    const size_t made = room - out.size();
    p.win_len += made;
    p.decoded += made;
    if (*st == StreamStatus::Corrupt) {
      p.error = corrupt(name_ + ": corrupt " + info_.compression + " stream (" +
                        p.decoder->message() + ")" + where(p));
    } else if (p.decoded > size_) {
      p.error = corrupt(name_ + ": " + stream() + " grows past " + announced() + where(p));
    } else if (*st == StreamStatus::End) {
      p.ended = true;
      if (bound_)
        end_ = p.decoded;
      else if (p.decoded < size_ && size_ != UINT64_MAX)
        p.error = ended_early(p);
    } else if (p.input_eof && made == 0 && had == p.in.size()) {
      p.error = corrupt(name_ + ": " + stream() + " is truncated" + where(p));
    }
  }

  // The decoder's part of step(), outside the mutex: reads input if none is
  // left (adding it to the digest) and decodes it into `out`, which is left
  // at the first byte not made.
  Result<StreamStatus> decode(Pass& p, std::span<uint8_t>& out) const {
    if (p.in.empty() && !p.input_eof) {
      const uint64_t at = p.input->position();
      QF_ASSIGN(size_t n, p.input->read({p.in_buf.get(), kInputBlock}));
      p.in = {p.in_buf.get(), n};
      p.input_eof = n == 0;
      std::lock_guard lock(sha_mu_);
      if (hashing_ && at <= hashed_ && hashed_ < at + n) {
        sha_.update(p.in.subspan(size_t(hashed_ - at)));
        hashed_ = at + n;
      }
    }
    if (p.decoder) return p.decoder->decode(p.in, out, p.input_eof);
    // Raw bytes from a pipe.
    const size_t n = std::min(p.in.size(), out.size());
    std::memcpy(out.data(), p.in.data(), n);
    p.in = p.in.subspan(n);
    out = out.subspan(n);
    return p.input_eof && p.in.empty() ? StreamStatus::End : StreamStatus::Ok;
  }

  std::string name_;
  SourcePtr inner_;
  std::optional<StreamFormat> format_;
  StreamOptions options_;
  StreamInfo info_;
  uint64_t size_ = UINT64_MAX;
  bool bound_ = false;  // size_ is kSizeBound: the end is found by reading
  mutable std::mutex mu_;
  mutable std::optional<uint64_t> end_;
  mutable std::vector<std::unique_ptr<Pass>> passes_;
  mutable uint64_t uses_ = 0;
  mutable Status error_;
  // The compressed file's SHA-256 (start_sha256): bytes [0, hashed_) taken.
  // A mutex of its own: the passes' decoders add to it outside mu_.
  mutable std::mutex sha_mu_;
  mutable bool hashing_ = false;
  mutable Sha256 sha_;
  mutable uint64_t hashed_ = 0;
};

}  // namespace

Result<SourcePtr> open_stream_source(SourcePtr compressed, StreamFormat format,
                                     const StreamOptions& options) {
  const Source& src = *compressed;
  Source::StreamInfo info{stream_format_name(format), int64_t(src.size()), ""};
  std::optional<uint64_t> size;
  if (format == StreamFormat::Xz) {
    QF_ASSIGN(size, detail::xz_decoded_size(src));
    info.size_from = "xz index";
  } else if (format == StreamFormat::Zstd) {
    // Walking every frame costs a small read per block: cheap on a local
    // file, a download over HTTP, where the first frame (all zstd -T0
    // writes) is trusted and the stream is checked against it as it is read.
    QF_ASSIGN(size, detail::zstd_decoded_size(src, src.fd() < 0));
    info.size_from = "zstd frame headers";
  } else if (format == StreamFormat::Zip) {
    QF_ASSIGN(size, detail::zip_decoded_size(src));
    info.size_from = "zip central directory";
  }
  if (!size && options.size_hint) {
    size = options.size_hint;
    info.size_from = options.size_hint_from;
  }
  auto stream = std::make_shared<StreamSource>(compressed->name(), compressed,
                                               std::make_unique<SourceInput>(compressed), format,
                                               options, std::move(info));
  if (size) {
    stream->set_size(*size, stream->stream_info()->size_from);
  } else if (options.size_at_end) {
    stream->set_bound();
  } else {
    // gzip's ISIZE is the size modulo 4 GiB, bzip2 has none: count.
    QF_ASSIGN(uint64_t n, stream->count());
    stream->set_size(n, "decoded once to count");
  }
  return SourcePtr(std::move(stream));
}

Result<SourcePtr> open_stdin_source(const StreamOptions& options) {
  std::vector<uint8_t> head(kStdinHead);
  size_t got = 0;
  while (got < head.size()) {
    const ssize_t n = ::read(STDIN_FILENO, head.data() + got, head.size() - got);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(std::string("read ") + kStdinName, errno);
    }
    got += size_t(n);
  }
  head.resize(got);
  if (got == 0) return corrupt(std::string(kStdinName) + " is empty, not a disk image");
  const auto format = detect_stream_format(head);
  Source::StreamInfo info{format ? stream_format_name(*format) : "none", -1, ""};
  std::optional<uint64_t> size;
  if (format == StreamFormat::Zstd) {
    size = detail::zstd_first_frame_size(head);
    info.size_from = "zstd frame header";
  }
  if (!size && options.size_hint) {
    size = options.size_hint;
    info.size_from = options.size_hint_from;
  }
  if (!size && !options.size_at_end)
    return usage(std::string(kStdinName) + ": the size of " +
                 (format ? std::string("a ") + stream_format_name(*format) + " stream"
                         : std::string("raw data")) +
                 " on a pipe is known only at its end; give it (--image-size or a bmap) or "
                 "give the file or URL instead");
  auto stream = std::make_shared<StreamSource>(
      kStdinName, nullptr, std::make_unique<PipeInput>(STDIN_FILENO, std::move(head)), format,
      options, std::move(info));
  if (size)
    stream->set_size(*size, stream->stream_info()->size_from);
  else
    stream->set_bound();
  return SourcePtr(std::move(stream));
}

}  // namespace qflash
