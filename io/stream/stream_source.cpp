// StreamSource: one decoder, one input position and one window of decoded
// bytes, under a mutex. The thread that asks for bytes past the window
// decodes them; the others wait and then copy from the window.
#include "io/stream/stream_source.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

#include "io/stream/stream_size.h"


namespace qflash {
namespace {

constexpr size_t kInputBlock = 2u << 20;  // compressed bytes read at once
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
  const Source& source() const { return *src_; }

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

class StreamSource final : public Source {
 public:
  StreamSource(std::string name, SourcePtr inner, std::unique_ptr<Input> input,
               std::unique_ptr<StreamDecoder> decoder, StreamInfo info, uint64_t window)
      : name_(std::move(name)), inner_(std::move(inner)), input_(std::move(input)),
        decoder_(std::move(decoder)), info_(std::move(info)),
        window_(std::max<uint64_t>(window, 2 * kInputBlock)), in_buf_(kInputBlock) {}

  Result<size_t> read_at(std::span<uint8_t> buf, uint64_t offset) const override {
    std::lock_guard lock(mu_);
    if (!error_.ok()) return Error(error_.error());
    size_t done = 0;
    while (done < buf.size()) {
      const uint64_t pos = offset + done;
      if (pos >= size_) break;
      if (pos < win_start_) QF_TRY(restart(pos));
      const uint64_t win_end = win_start_ + win_len_;
      if (pos < win_end) {
        const size_t n = size_t(std::min<uint64_t>(win_end - pos, buf.size() - done));
        std::memcpy(buf.data() + done, window_.data() + (pos - win_start_), n);
        done += n;
        continue;
      }
      if (auto st = decode_more(); !st) {
        error_ = st;  // the stream is broken for every later reader too
        return st.take_error();
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

  void set_size(uint64_t size, std::string from) {
    size_ = size;
    info_.size_from = std::move(from);
  }
  // Decodes the whole stream once to count its bytes, then goes back to the
  // start. A corrupt or truncated stream is found here, before any write.
  Result<uint64_t> count() {
    std::lock_guard lock(mu_);
    size_ = UINT64_MAX;
    while (!ended_) QF_TRY(decode_more());
    const uint64_t n = decoded_;
    QF_TRY(restart(0));
    return n;
  }

 private:
  std::string where() const {
    return " at compressed byte " + std::to_string(input_->position()) + ", decoded byte " +
           std::to_string(decoded_);
  }
  std::string announced() const {
    return "the size " + std::to_string(size_) + " it announced (" + info_.size_from + ")";
  }

  // Back to the start of the stream, for bytes at `pos` the window has passed.
  Status restart(uint64_t pos) const {
    if (!input_->restartable())
      return Error{ErrorKind::Io, name_ + ": the bytes at " + std::to_string(pos) +
                                      " were already passed, and a pipe cannot be read twice "
                                      "(give a file or URL for a second pass)"};
    input_->restart();
    if (decoder_) decoder_->reset();
    in_ = {};
    win_start_ = win_len_ = decoded_ = 0;
    ended_ = input_eof_ = false;
    return {};
  }

  // Decodes the next piece of the stream into the window, sliding the window
  // when full (its older half is dropped).
  Status decode_more() const {
    if (ended_)
      return corrupt(name_ + ": " + info_.compression + " stream ends at byte " +
                     std::to_string(decoded_) + ", before " + announced());
    if (win_len_ == window_.size()) {
      const uint64_t drop = win_len_ / 2;
      std::memmove(window_.data(), window_.data() + drop, win_len_ - drop);
      win_start_ += drop;
      win_len_ -= drop;
    }
    if (in_.empty() && !input_eof_) {
      QF_ASSIGN(size_t n, input_->read(in_buf_));
      in_ = {in_buf_.data(), n};
      input_eof_ = n == 0;
    }
    std::span<uint8_t> out(window_.data() + win_len_, window_.size() - win_len_);
    const size_t room = out.size(), had = in_.size();
    StreamStatus st;
    if (decoder_) {
      st = decoder_->decode(in_, out, input_eof_);
    } else {  // raw bytes from a pipe
      const size_t n = std::min(in_.size(), out.size());
      std::memcpy(out.data(), in_.data(), n);
      in_ = in_.subspan(n);
      out = out.subspan(n);
      st = input_eof_ && in_.empty() ? StreamStatus::End : StreamStatus::Ok;
    }
    const size_t made = room - out.size();
    win_len_ += made;
    decoded_ += made;
    if (st == StreamStatus::Corrupt)
      return corrupt(name_ + ": corrupt " + info_.compression + " stream (" + decoder_->message() +
                     ")" + where());
    if (decoded_ > size_)
      return corrupt(name_ + ": " + info_.compression + " stream grows past " + announced() + where());
    if (st == StreamStatus::End) {
      ended_ = true;
      if (decoded_ < size_ && size_ != UINT64_MAX)
        return corrupt(name_ + ": " + info_.compression + " stream ends at byte " +
                       std::to_string(decoded_) + ", before " + announced());
      return {};
    }
    if (input_eof_ && made == 0 && had == in_.size())
      return corrupt(name_ + ": " + info_.compression + " stream is truncated" + where());
    return {};
  }

  std::string name_;
  SourcePtr inner_;
  mutable std::mutex mu_;
  std::unique_ptr<Input> input_;
  std::unique_ptr<StreamDecoder> decoder_;
  StreamInfo info_;
  uint64_t size_ = UINT64_MAX;
  mutable std::vector<uint8_t> window_;
  mutable std::vector<uint8_t> in_buf_;
  mutable std::span<const uint8_t> in_;
  mutable uint64_t win_start_ = 0, win_len_ = 0, decoded_ = 0;
  mutable bool ended_ = false, input_eof_ = false;
  mutable Status error_;
};

std::unique_ptr<StreamDecoder> decoder_for(std::optional<StreamFormat> format,
                                           const StreamOptions& options) {
  if (!format) return nullptr;
  return make_stream_decoder(*format, options.threads, options.decoder_memory);
}

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
  }
  if (!size && options.size_hint) {
    size = options.size_hint;
    info.size_from = "given";
  }
  auto stream = std::make_shared<StreamSource>(
      compressed->name(), compressed, std::make_unique<SourceInput>(compressed),
      decoder_for(format, options), std::move(info), options.window);
  if (size) {
    stream->set_size(*size, stream->stream_info()->size_from);
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
  const auto format = detect_stream_format(head);
  Source::StreamInfo info{format ? stream_format_name(*format) : "none", -1, ""};
  std::optional<uint64_t> size;
  if (format == StreamFormat::Zstd) {
    size = detail::zstd_first_frame_size(head);
    info.size_from = "zstd frame header";
  }
  if (!size && options.size_hint) {
    size = options.size_hint;
    info.size_from = "given";
  }
  if (!size)
    return usage(std::string(kStdinName) + ": the size of " +
                 (format ? std::string("a ") + stream_format_name(*format) + " stream"
                         : std::string("raw data")) +
                 " on a pipe is known only at its end; give it (--image-size or a bmap) or "
                 "give the file or URL instead");
  auto stream = std::make_shared<StreamSource>(
      kStdinName, nullptr, std::make_unique<PipeInput>(STDIN_FILENO, std::move(head)),
      decoder_for(format, options), std::move(info), options.window);
  stream->set_size(*size, stream->stream_info()->size_from);
  return SourcePtr(std::move(stream));
}

}  // namespace qflash
