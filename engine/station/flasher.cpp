#include "engine/station/flasher.h"

#include <unistd.h>

#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine/write/verify.h"

namespace qflash {

struct Flasher::Impl {
  Chain chain;
  WriteOptions options;
  Done on_done;
  std::unique_ptr<WriteSession> session;
  std::thread engine;
  mutable std::mutex mutex;
  std::vector<TargetProgress> progress;                  // by id
  std::vector<std::optional<Sha256::Digest>> written;    // by id, once done: what verify() compares
  bool ended = false;                                    // run() returned
  Status end_reason;                                     // why, when not a clean close

  explicit Impl(Chain c) : chain(std::move(c)) {}

  void target_done(size_t id, TargetResult result) {
    // The engine reports a target it let go on the stop flag as incomplete
    // but not failed: for the station that drive was interrupted.
    if (result.status && !result.complete)
      result.status = Error{ErrorKind::Interrupted, result.path + ": interrupted"};
    {
      std::lock_guard lock(mutex);
      if (id >= progress.size()) progress.resize(id + 1);
      progress[id].done = result.bytes;
      progress[id].failed = !result.status;
      if (id >= written.size()) written.resize(id + 1);
      written[id] = result.sha256;
    }
    on_done(id, std::move(result));
  }

  void run() {
    auto report = session->run();
    std::lock_guard lock(mutex);
    ended = true;
    if (!report) end_reason = report.take_error();
    else if (!report->error.ok()) end_reason = report->error;
    else end_reason = Error{ErrorKind::Interrupted, "the station is stopping"};
  }
};

Flasher::Flasher(std::unique_ptr<Impl> impl, uint64_t size) : impl_(std::move(impl)), size_(size) {}

Flasher::~Flasher() {
  impl_->session->close();
  if (impl_->engine.joinable()) impl_->engine.join();
}

Result<std::unique_ptr<Flasher>> Flasher::create(const std::string& image,
                                                 const SourceOptions& source,
                                                 const WriteOptions& options, Done on_done) {
  QF_ASSIGN(Chain chain, Chain::open(image, source));
  QF_TRY(chain.validate());
  const uint64_t size = chain.size();
  auto impl = std::make_unique<Impl>(std::move(chain));
  impl->options = options;
  impl->on_done = std::move(on_done);
  Impl* raw = impl.get();
  impl->options.progress = [raw](const std::vector<TargetProgress>& p) {
    std::lock_guard lock(raw->mutex);
    if (raw->progress.size() < p.size()) raw->progress.resize(p.size());
    for (size_t i = 0; i < p.size(); ++i)
      if (!raw->progress[i].failed) raw->progress[i] = p[i];
  };
  impl->options.on_target_done = [raw](size_t id, const TargetResult& r) { raw->target_done(id, r); };
  // Drives are verified through the station's own descriptor; the engine's
  // close once written, so that a pulled drive can leave.
  impl->options.close_done_targets = true;
  QF_ASSIGN(impl->session, WriteSession::create(impl->chain, impl->options));
  impl->engine = std::thread([raw] { raw->run(); });
  return std::unique_ptr<Flasher>(new Flasher(std::move(impl), size));
}

std::optional<Sha256::Digest> Flasher::image_sha256() const { return impl_->session->image_sha256(); }

Status Flasher::image_status() const {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->ended || impl_->end_reason.ok() ||
      impl_->end_reason.error().kind == ErrorKind::Interrupted)
    return {};
  return impl_->end_reason;
}

size_t Flasher::add(WriteTarget target) {
  const uint64_t length = target.length;
  Status refused;
  size_t id;
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->ended) {
      id = impl_->session->add(std::move(target));
      if (impl_->progress.size() <= id) impl_->progress.resize(id + 1);
      impl_->progress[id] = {0, length, false};
      return id;
    }
    // The engine is gone: the drive fails untouched, with the reason.
    id = impl_->progress.size();
    impl_->progress.push_back({0, length, true});
    impl_->written.resize(id + 1);
    refused = impl_->end_reason;
  }
  TargetResult result;
  result.path = target.target.path;
  result.status = refused;
  impl_->on_done(id, std::move(result));
  return id;
}

TargetProgress Flasher::progress(size_t id) const {
  std::lock_guard lock(impl_->mutex);
  return id < impl_->progress.size() ? impl_->progress[id] : TargetProgress{};
}

Status Flasher::verify(size_t id, int fd, const std::string& name,
                       const std::function<void(uint64_t)>& progress) const {
  std::optional<Sha256::Digest> written;
  uint64_t length = 0;
  {
    std::lock_guard lock(impl_->mutex);
    if (id < impl_->written.size()) written = impl_->written[id];
    if (id < impl_->progress.size()) length = impl_->progress[id].done;
  }
  // Bytes without a recorded digest cannot be checked: never call them good.
  if (!written) return Error{ErrorKind::Target, "verify " + name + ": no digest was recorded while writing"};
  Target target;
  target.path = name;
  target.fd = Fd(::dup(fd));
  if (!target.fd.valid()) return io_error("verify " + name, errno);
  QF_ASSIGN(Sha256::Digest got, target_sha256(target, length, impl_->options.stop, progress));
  if (got != *written)
    return Error{ErrorKind::Target, "verify: " + name + " reads back with SHA-256 " + Sha256::hex(got) +
                                        ", not the " + Sha256::hex(*written) + " written"};
  return {};
}

}  // namespace qflash
