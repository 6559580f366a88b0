// The simple, synchronous write path: read a chunk through the Reader, write
// it to each target with pwrite, fdatasync at the end.
#include "engine/mass_writer.h"

#include <unistd.h>

#include <libdeflate.h>

#include <algorithm>
#include <chrono>

#include "engine/reader.h"

namespace qflash {
namespace {

constexpr uint64_t kChunk = 4u << 20;

bool all_zero(std::span<const uint8_t> b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t c) { return c == 0; });
}

Status pwrite_all(const Target& t, std::span<const uint8_t> b, uint64_t off) {
  while (!b.empty()) {
    ssize_t n = ::pwrite(t.fd.get(), b.data(), b.size(), off_t(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error("write " + t.path + " at " + std::to_string(off), n < 0 ? errno : ENOSPC);
    b = b.subspan(size_t(n));
    off += uint64_t(n);
  }
  return {};
}

}  // namespace

Result<WriteReport> write_image(Chain& chain, std::vector<WriteTarget>& targets,
                                const WriteOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  WriteReport report;
  std::vector<TargetProgress> progress(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    report.targets.push_back(TargetResult{targets[i].target.path, 0, 0, {}, {}});
    progress[i].total = targets[i].length;
    const Target& t = targets[i].target;
    if (!t.block_device && (::ftruncate(t.fd.get(), 0) < 0 ||
                            ::ftruncate(t.fd.get(), off_t(targets[i].length)) < 0))
      report.targets[i].status = io_error("truncate " + t.path, errno);
  }
  Reader reader(chain);
  std::vector<uint8_t> buf(kChunk);
  for (size_t i = 0; i < targets.size(); ++i) {
    WriteTarget& wt = targets[i];
    for (uint64_t pos = 0; pos < wt.length && report.targets[i].status.ok(); pos += kChunk) {
      if (options.stop && options.stop->load()) {
        report.interrupted = true;
        break;
      }
      auto chunk = std::span<uint8_t>(buf).first(std::min(kChunk, wt.length - pos));
      QF_TRY(reader.read(chunk, wt.guest_start + pos));
      if (!(all_zero(chunk) && (!wt.target.block_device || options.sparse))) {
        if (auto st = pwrite_all(wt.target, chunk, pos); !st) report.targets[i].status = st;
      }
      if (options.record_digest)
        report.targets[i].pieces.push_back(
            {pos, chunk.size(), libdeflate_crc32(0, chunk.data(), chunk.size())});
      if (report.targets[i].status.ok()) progress[i].done = pos + chunk.size();
      if (options.progress) options.progress(progress);
    }
    if (report.targets[i].status.ok() && ::fdatasync(wt.target.fd.get()) < 0)
      report.targets[i].status = io_error("flush " + wt.target.path, errno);
    report.targets[i].bytes = progress[i].done;
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& r : report.targets) r.seconds = report.seconds;
  return report;
}

}  // namespace qflash
