#include "engine/write/verify.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "io/base/fd.h"

namespace qflash {
namespace {

constexpr uint64_t kChunk = 4u << 20;
constexpr uint64_t kAlign = 4096;  // covers every logical block size in use

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};

Result<Sha256::Digest> digest_with(const Target& target, uint64_t length, const std::atomic<bool>* stop,
                                   bool direct, const std::function<void(uint64_t)>& progress) {
  // A new open file description of the same file, for reading: through
  // /proc/self/fd it is the inode written, whatever the name now points to.
  const std::string self = "/proc/self/fd/" + std::to_string(target.fd.get());
  Fd fd(::open(self.c_str(), O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0)));
  if (!fd.valid()) return io_error("open " + target.path + " to verify", errno);
  // Without O_DIRECT, drop the cached pages (clean after the writer's
  // fdatasync) so the read still goes to the store.
  if (!direct) ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  std::unique_ptr<uint8_t, FreeDeleter> buf(static_cast<uint8_t*>(std::aligned_alloc(kAlign, kChunk)));
  if (!buf) return Error{ErrorKind::Io, "verify " + target.path + ": out of memory"};
  Sha256 sha;
  uint64_t at = 0;
  while (at < length) {
    if (stop && stop->load()) return Error{ErrorKind::Interrupted, "verify " + target.path + ": interrupted"};
    // Whole aligned chunks even at the end (O_DIRECT); only `length` counts.
    const uint64_t want = std::min(kChunk, (length - at + kAlign - 1) / kAlign * kAlign);
    const ssize_t n = ::pread(fd.get(), buf.get(), want, off_t(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("read back " + target.path + " at " + std::to_string(at), errno);
    if (n == 0) return Error{ErrorKind::Target, "verify: " + target.path + " ends at " + std::to_string(at) +
                                                    ", before the " + std::to_string(length) + " bytes written"};
    const uint64_t use = std::min<uint64_t>(uint64_t(n), length - at);
    sha.update({buf.get(), use});
    at += use;
    if (progress) progress(at);
  }
  return sha.finish();
}

}  // namespace

Result<Sha256::Digest> target_sha256(const Target& target, uint64_t length, const std::atomic<bool>* stop,
                                     const std::function<void(uint64_t)>& progress) {
  auto result = digest_with(target, length, stop, true, progress);
  // tmpfs refuses O_DIRECT at open, some stacked file systems only at read.
  if (!result && result.error().err == EINVAL) return digest_with(target, length, stop, false, progress);
  return result;
}

std::vector<VerifyResult> verify_targets(const std::vector<WriteTarget>& targets, const WriteReport& report,
                                         const std::atomic<bool>* stop) {
  std::vector<VerifyResult> out(report.targets.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < report.targets.size() && i < targets.size(); ++i) {
    const TargetResult& r = report.targets[i];
    if (!r.complete || !r.status) continue;
    threads.emplace_back([&, i] {
      VerifyResult& v = out[i];
      const WriteTarget& wt = targets[i];
      v.checked = true;
      if (!r.sha256) {
        // Bytes without a recorded digest cannot be checked: never call them good.
        v.status = Error{ErrorKind::Target, "verify: " + r.path + ": no digest was recorded while writing"};
        return;
      }
      auto got = target_sha256(wt.target, wt.length, stop);
      if (!got) {
        v.status = got.take_error();
      } else if (*got != *r.sha256) {
        v.status = Error{ErrorKind::Target, "verify: " + r.path + " reads back with SHA-256 " + Sha256::hex(*got) +
                                                ", not the " + Sha256::hex(*r.sha256) + " written"};
      }
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace qflash
