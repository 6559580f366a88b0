#include "engine/write/verify.h"

#include <fcntl.h>
#include <unistd.h>

#include <libdeflate.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "io/base/fd.h"

namespace qflash {
namespace {

constexpr uint64_t kChunk = 4u << 20;
constexpr uint64_t kAlign = 4096;  // covers every logical block size in use

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};

// A window of the target, read in aligned chunks as the pieces ask for it.
class Window {
 public:
  Window(const Fd& fd, std::string path, bool direct)
      : fd_(fd), path_(std::move(path)), direct_(direct),
        buf_(static_cast<uint8_t*>(std::aligned_alloc(kAlign, kChunk))) {}

  // The bytes at `offset` (at least one, unless the target ends there).
  Result<std::span<const uint8_t>> at(uint64_t offset) {
    if (offset < start_ || offset >= start_ + filled_) {
      start_ = offset / kAlign * kAlign;
      filled_ = 0;
      // Whole chunks even at the end: O_DIRECT wants aligned lengths, and a
      // read at the end of the target just comes back short.
      while (filled_ < kChunk) {
        ssize_t n = ::pread(fd_.get(), buf_.get() + filled_, kChunk - filled_,
                            off_t(start_ + filled_));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_error("read back " + path_ + " at " + std::to_string(start_ + filled_), errno);
        if (n == 0) break;
        filled_ += uint64_t(n);
        if (direct_ && filled_ % kAlign) break;  // short O_DIRECT read: the end
      }
      if (offset >= start_ + filled_) return std::span<const uint8_t>();
    }
    return std::span<const uint8_t>(buf_.get() + (offset - start_), start_ + filled_ - offset);
  }

 private:
  const Fd& fd_;
  std::string path_;
  bool direct_;
  std::unique_ptr<uint8_t, FreeDeleter> buf_;
  uint64_t start_ = 0, filled_ = 0;
};

Result<VerifyResult> verify_with(const Target& target, std::span<const WrittenPiece> sorted,
                                 const std::atomic<bool>* stop, bool direct) {
  const std::string& path = target.path;
  // The inode the run wrote, through /proc: a name may point elsewhere by now.
  const std::string self = "/proc/self/fd/" + std::to_string(target.fd.get());
  Fd fd(::open(self.c_str(), O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0)));
  if (!fd.valid()) return io_error("open " + path + " to verify", errno);
  // Without O_DIRECT, drop the cached pages (clean after the writer's
  // fdatasync) so the read still goes to the store.
  if (!direct) ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  Window window(fd, path, direct);
  VerifyResult result;
  for (const auto& piece : sorted) {
    if (stop && stop->load()) return Error{ErrorKind::Interrupted, "verify " + path + ": interrupted"};
    uint32_t crc = 0;
    uint64_t pos = piece.offset;
    const uint64_t end = piece.offset + piece.length;
    while (pos < end) {
      QF_ASSIGN(auto bytes, window.at(pos));
      if (bytes.empty()) break;  // the target ends inside the piece
      const size_t n = size_t(std::min<uint64_t>(bytes.size(), end - pos));
      crc = libdeflate_crc32(crc, bytes.data(), n);
      pos += n;
    }
    if (pos < end || crc != piece.crc) {
      result.mismatch = piece;
      break;
    }
  }
  return result;
}

}  // namespace

Result<VerifyResult> verify_target(const Target& target, std::span<const WrittenPiece> pieces,
                                   const std::atomic<bool>* stop) {
  std::vector<WrittenPiece> sorted(pieces.begin(), pieces.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const WrittenPiece& a, const WrittenPiece& b) { return a.offset < b.offset; });
  auto result = verify_with(target, sorted, stop, true);
  // tmpfs refuses O_DIRECT at open, some stacked file systems only at read.
  if (!result && result.error().err == EINVAL) return verify_with(target, sorted, stop, false);
  return result;
}

}  // namespace qflash
