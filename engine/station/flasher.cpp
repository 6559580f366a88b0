#include "engine/station/flasher.h"

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/write/verify.h"

namespace qflash {

struct Flasher::Impl {
  std::string image;
  SourceOptions source;
  WriteOptions options;
  Done on_done;
  mutable std::mutex mutex;
  std::vector<TargetProgress> progress;  // by id
  std::vector<std::vector<WrittenPiece>> pieces;  // by id, once done: what verify() compares
  std::vector<std::thread> threads;
  std::vector<size_t> finished;  // ids whose thread has returned, to join on the next add

  // One drive, start to end, on its own thread.
  void write_one(size_t id, WriteTarget target) {
    const uint64_t length = target.length;
    TargetResult result{target.target.path, 0, 0, {}, {}};
    auto chain = Chain::open(image, source);
    if (!chain) {
      result.status = chain.take_error();
    } else {
      WriteOptions options = this->options;
      options.progress = [this, id](const std::vector<TargetProgress>& p) {
        std::lock_guard lock(mutex);
        progress[id] = p.front();
      };
      std::vector<WriteTarget> targets;
      targets.push_back(std::move(target));
      auto report = write_image(*chain, targets, options);
      if (!report) {
        result.status = report.take_error();
      } else {
        result = std::move(report->targets.front());
        if (result.status && result.bytes < length && report->interrupted)
          result.status = Error{ErrorKind::Interrupted, result.path + ": interrupted"};
        // An image changed while being read leaves a mix of old and new bytes.
        if (result.status)
          if (auto st = chain->check_unchanged(); !st) result.status = st.take_error();
      }
    }
    {
      std::lock_guard lock(mutex);
      progress[id].done = result.bytes;
      progress[id].failed = !result.status;
      pieces[id] = result.pieces;
    }
    on_done(id, std::move(result));
    std::lock_guard lock(mutex);
    finished.push_back(id);
  }
};

Flasher::Flasher(std::unique_ptr<Impl> impl, uint64_t size) : impl_(std::move(impl)), size_(size) {}

Flasher::~Flasher() {
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
}

Result<std::unique_ptr<Flasher>> Flasher::create(const std::string& image,
                                                 const SourceOptions& source,
                                                 const WriteOptions& options, Done on_done) {
  QF_ASSIGN(Chain chain, Chain::open(image, source));
  QF_TRY(chain.validate());
  auto impl = std::make_unique<Impl>();
  impl->image = image;
  impl->source = source;
  impl->options = options;
  impl->options.memory = std::max<uint64_t>(16u << 20, options.memory / 4);
  impl->options.record_digest = true;  // a CRC-32 per piece, for verify()
  impl->on_done = std::move(on_done);
  return std::unique_ptr<Flasher>(new Flasher(std::move(impl), chain.size()));
}

size_t Flasher::add(WriteTarget target) {
  std::lock_guard lock(impl_->mutex);
  // A station runs for days: threads of drives long done are joined here.
  for (size_t done : impl_->finished) impl_->threads[done].join();
  impl_->finished.clear();
  const size_t id = impl_->progress.size();
  impl_->progress.push_back({0, target.length, false});
  impl_->pieces.emplace_back();
  impl_->threads.emplace_back(
      [impl = impl_.get(), id, t = std::move(target)]() mutable { impl->write_one(id, std::move(t)); });
  return id;
}

TargetProgress Flasher::progress(size_t id) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->progress.at(id);
}

Status Flasher::verify(size_t id, int fd, const std::string& name,
                       const std::function<void(uint64_t)>& progress) const {
  std::vector<WrittenPiece> pieces;
  uint64_t written = 0;
  {
    std::lock_guard lock(impl_->mutex);
    pieces = impl_->pieces.at(id);
    written = impl_->progress.at(id).done;
  }
  std::sort(pieces.begin(), pieces.end(),
            [](const WrittenPiece& a, const WrittenPiece& b) { return a.offset < b.offset; });
  uint64_t covered = 0;
  for (const auto& p : pieces) covered += p.length;
  // Bytes without a checksum could not be checked: never call them good.
  if (covered < written)
    return Error{ErrorKind::Target, "verify " + name + ": no checksum recorded for " +
                                        std::to_string(written - covered) + " of its bytes"};
  // In batches of about 64 MiB, to tell the progress between them.
  constexpr uint64_t kBatch = 64u << 20;
  const std::string by_fd = "/proc/self/fd/" + std::to_string(fd);
  uint64_t checked = 0;
  for (size_t first = 0; first < pieces.size();) {
    size_t last = first;
    uint64_t bytes = 0;
    while (last < pieces.size() && (bytes < kBatch || last == first)) bytes += pieces[last++].length;
    auto v = verify_target(by_fd, std::span(pieces).subspan(first, last - first),
                           impl_->options.stop);
    if (!v) {
      Error e = v.take_error();
      e.message = "verify " + name + ": " + e.message;
      return e;
    }
    if (v->mismatch)
      return Error{ErrorKind::Target, "verify: " + name + " differs from the image in the " +
                                          std::to_string(v->mismatch->length) +
                                          " bytes at offset " +
                                          std::to_string(v->mismatch->offset)};
    checked += bytes;
    if (progress) progress(checked);
    first = last;
  }
  return {};
}

}  // namespace qflash
