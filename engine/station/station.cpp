#include "engine/station/station.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "engine/station/flasher.h"
#include "engine/station/slots.h"
#include "io/devices/monitor.h"
#include "io/http/url.h"
#include "io/target.h"

namespace qflash {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kTickMs = 250;

SlotStatus empty_slot(const std::string& slot, const std::string& label) {
  SlotStatus s;
  s.slot = slot;
  s.label = label;
  return s;
}

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

const char* to_string(SlotState state) {
  switch (state) {
    case SlotState::Empty: return "empty";
    case SlotState::Writing: return "writing";
    case SlotState::Verifying: return "verifying";
    case SlotState::Done: return "done";
    case SlotState::Failed: return "failed";
    case SlotState::Refused: return "refused";
  }
  return "?";
}

// A drive between insertion and its record.
struct Job {
  size_t slot;                 // index in Impl::slots
  Drive drive;
  Fd check;                    // read-only, the same device: verify and flush through it
  size_t flash_id = 0;
  bool pulled = false;         // removed while busy
  Clock::time_point started, phase_started;
  TargetResult written;
  std::atomic<uint64_t> verified{0};
  std::thread verifier;
  std::atomic<bool> verify_over{false};
  Status verify_status;
};

struct Station::Impl {
  StationConfig config;
  DeviceMonitor monitor;
  std::atomic<bool> never{false};
  const std::atomic<bool>* stop = &never;  // config.write.stop, if set
  const StationCallbacks* callbacks = nullptr;

  mutable std::mutex mutex;  // slots and counts, read by slots() from any thread
  std::vector<SlotStatus> slots;
  StationCounts counts;

  std::vector<std::unique_ptr<Job>> jobs;            // busy drives
  std::vector<std::string> waiting;  // drives plugged into a slot not yet free
  std::mutex done_mutex;
  std::deque<std::pair<size_t, TargetResult>> written;  // from the writer threads
  // Last, so it goes first: its writer threads end before the queue they fill.
  std::unique_ptr<Flasher> flasher;

  size_t slot_index(const Drive& drive) {
    for (size_t i = 0; i < slots.size(); ++i)
      if (slots[i].slot == drive.slot) return i;
    slots.push_back(empty_slot(drive.slot, slot_label(config.slot_names, drive)));
    return slots.size() - 1;
  }

  // Sets a slot's state under the lock and tells the caller.
  void set(size_t index, SlotState state, const std::string& event, std::string error = {}) {
    SlotStatus copy;
    {
      std::lock_guard lock(mutex);
      SlotStatus& s = slots[index];
      s.state = state;
      s.error = std::move(error);
      copy = s;
    }
    if (callbacks->on_event) callbacks->on_event(event, copy);
  }

  // The drive left the slot: the event still names it, the slot is empty.
  void set_removed(size_t index) {
    set(index, SlotState::Empty, "removed");
    std::lock_guard lock(mutex);
    slots[index].drive.reset();
    slots[index].done = slots[index].total = 0;
  }

  void record(const Drive& drive, size_t slot, const std::string& result,
              const std::string& verify, uint64_t bytes, double seconds, const std::string& error,
              std::optional<Sha256::Digest> written = std::nullopt) {
    DriveRecord r;
    r.time = std::chrono::system_clock::now();
    r.slot = slots[slot].slot;
    r.label = slots[slot].label;
    r.drive = drive;
    r.image = redact_url(config.image);  // a record never carries credentials
    r.bytes = bytes;
    r.seconds = seconds;
    r.result = result;
    r.verify = verify;
    r.error = error;
    if (written) {
      r.sha256 = written;
      r.image_sha256 = flasher->image_sha256();
    }
    {
      std::lock_guard lock(mutex);
      if (result == "ok") ++counts.good;
      else if (result == "failed") ++counts.failed;
      else if (result == "interrupted") ++counts.interrupted;
      else ++counts.refused;
    }
    if (callbacks->on_record) callbacks->on_record(r);
  }

  // With --count, new drives are taken until that many are good; drives
  // already being written then are finished (any of them may still fail).
  bool accepting() const { return !config.count || counts.good < config.count; }

  void inserted(const std::string& name) {
    auto read = read_drive(name);
    if (!read) return;  // gone again already
    Drive drive = std::move(read).value();
    if (!slot_matches(config.slots, drive)) {
      SlotStatus ignored = empty_slot(drive.slot, drive.slot);
      ignored.drive = drive;
      if (callbacks->on_event) callbacks->on_event("ignored", ignored);
      return;
    }
    size_t index;
    {
      std::lock_guard lock(mutex);
      index = slot_index(drive);
      // The drive pulled from this slot is still being recorded: this one
      // is taken once the slot is free.
      if (slots[index].state != SlotState::Empty) {
        if (std::find(waiting.begin(), waiting.end(), name) == waiting.end())
          waiting.push_back(name);
        return;
      }
      slots[index].drive = drive;
      slots[index].done = slots[index].seconds = 0;
      slots[index].total = flasher->virtual_size();
    }
    set(index, SlotState::Empty, "inserted");
    auto refuse = [&](const std::string& result, const std::string& why) {
      set(index, SlotState::Refused, "refused", why);
      record(drive, index, result, "skipped", 0, 0, why);
    };
    if (auto busy = drive_in_use(drive); !busy.empty()) return refuse("refused", busy);
    if (drive.size < flasher->virtual_size())
      return refuse("too_small", "too small: " + drive.path + " holds " +
                                     std::to_string(drive.size) + " bytes, the image needs " +
                                     std::to_string(flasher->virtual_size()));
    if (!accepting()) return refuse("refused", "--count reached; not written");
    auto target = open_target(drive.path, flasher->virtual_size(), {.allow_block_device = true});
    if (!target) return refuse("refused", target.error().message);
    auto job = std::make_unique<Job>();
    job->slot = index;
    job->drive = drive;
    // Verify and flush through the descriptor opened and checked here, not
    // the name: a device re-used under the same name is another drive.
    job->check.reset(::open(("/proc/self/fd/" + std::to_string(target->fd.get())).c_str(),
                            O_RDONLY | O_CLOEXEC));
    if (!job->check.valid())
      return refuse("refused", io_error("open " + drive.path + " to read back", errno).message);
    job->started = job->phase_started = Clock::now();
    set(index, SlotState::Writing, "writing");
    job->flash_id = flasher->add({std::move(target).value(), 0, flasher->virtual_size()});
    jobs.push_back(std::move(job));
  }

  // Drives that waited for their slot, tried again.
  void retry_waiting() {
    std::vector<std::string> names;
    names.swap(waiting);
    for (const auto& name : names) inserted(name);
  }

  void removed(const std::string& name) {
    std::erase(waiting, name);
    for (auto& job : jobs)
      if (job->drive.name == name) job->pulled = true;
    for (size_t i = 0; i < slots.size(); ++i) {
      if (!slots[i].drive || slots[i].drive->name != name) continue;
      const SlotState s = slots[i].state;
      if (s == SlotState::Writing || s == SlotState::Verifying) continue;  // its job ends it
      set_removed(i);
    }
  }

  // Writes that ended: fail them, or go on to verification or the end.
  void collect_written() {
    std::deque<std::pair<size_t, TargetResult>> ended;
    {
      std::lock_guard lock(done_mutex);
      ended.swap(written);
    }
    for (auto& [done_id, result] : ended) {
      // A copy to capture: clang before 16 cannot capture a structured binding.
      const size_t id = done_id;
      auto it = std::find_if(jobs.begin(), jobs.end(),
                             [id](const std::unique_ptr<Job>& j) { return j->flash_id == id; });
      if (it == jobs.end()) continue;
      Job& job = **it;  // finish() erases it from jobs
      job.written = std::move(result);
      if (job.written.status && config.verify && !stop->load()) start_verify(job);
      else finish(job, false);
    }
  }

  void start_verify(Job& job) {
    job.phase_started = Clock::now();
    {
      std::lock_guard lock(mutex);
      slots[job.slot].done = 0;
      slots[job.slot].seconds = 0;
    }
    set(job.slot, SlotState::Verifying, "verifying");
    job.verifier = std::thread([this, &job] {
      job.verify_status = flasher->verify(job.flash_id, job.check.get(), job.drive.path,
                                          [&job](uint64_t n) { job.verified = n; });
      job.verify_over = true;
    });
  }

  // Records the drive's end and frees its job: written (and verified if it
  // was) and flushed, or failed.
  void finish(Job& job, bool verified) {
    if (job.verifier.joinable()) job.verifier.join();
    const Status& w = job.written.status;
    std::string result = "ok", verify = verified ? "ok" : "skipped", error;
    if (!w) {
      result = w.error().kind == ErrorKind::Interrupted ? "interrupted" : "failed";
      error = w.error().message;
      if (job.pulled) error = "removed while writing: " + error;
    } else if (verified && !job.verify_status) {
      const bool cut = job.verify_status.error().kind == ErrorKind::Interrupted;
      result = cut ? "interrupted" : "failed";
      verify = cut ? "skipped" : "failed";
      error = job.verify_status.error().message;
    } else if (::fsync(job.check.get()) != 0) {
      // The writer flushed already; this flush also covers the drive's
      // cache after the read-back, and a drive that vanished says so here.
      result = "failed";
      error = "flush " + job.drive.path + ": " + std::strerror(errno);
    } else if (!verified && config.verify) {
      result = "interrupted";  // stopped before it could be verified
      error = "stopped before verification";
    }
    job.check.reset();
    {
      std::lock_guard lock(mutex);
      slots[job.slot].done = job.written.bytes;
    }
    const SlotState state = result == "ok" ? SlotState::Done : SlotState::Failed;
    set(job.slot, state, result == "ok" ? "done" : result == "interrupted" ? "interrupted" : "failed",
        error);
    record(job.drive, job.slot, result, verify, job.written.bytes, since(job.started), error,
           result == "ok" ? job.written.sha256 : std::nullopt);
    // A drive pulled while busy leaves an empty slot once recorded.
    if (job.pulled) set_removed(job.slot);
    std::erase_if(jobs, [&job](const std::unique_ptr<Job>& j) { return j.get() == &job; });
  }

  void collect_verified() {
    for (size_t i = 0; i < jobs.size();) {
      Job& job = *jobs[i];
      if (job.verifier.joinable() && job.verify_over) {
        finish(job, true);  // erases jobs[i]
      } else {
        ++i;
      }
    }
  }

  // Progress of busy slots into the snapshot.
  void refresh() {
    std::lock_guard lock(mutex);
    for (auto& job : jobs) {
      SlotStatus& s = slots[job->slot];
      s.seconds = since(job->phase_started);
      if (s.state == SlotState::Writing) {
        const TargetProgress p = flasher->progress(job->flash_id);
        s.done = p.done;
        s.total = p.total;
      } else if (s.state == SlotState::Verifying) {
        s.done = job->verified;
      }
    }
  }
};

Station::Station(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Station::~Station() = default;

Result<std::unique_ptr<Station>> Station::create(StationConfig config) {
  if (config.slots.empty())
    return usage("station mode writes only drives in the slots given with --slot");
  auto impl = std::make_unique<Impl>();
  Impl* raw = impl.get();
  QF_ASSIGN(impl->flasher,
            Flasher::create(config.image, config.source, config.write,
                            [raw](size_t id, TargetResult result) {
                              std::lock_guard lock(raw->done_mutex);
                              raw->written.emplace_back(id, std::move(result));
                            }));
  impl->config = std::move(config);
  if (impl->config.write.stop) impl->stop = impl->config.write.stop;
  // Named slots are shown from the start, empty, in the file's order.
  for (const auto& [slot, label] : impl->config.slot_names) impl->slots.push_back(empty_slot(slot, label));
  return std::unique_ptr<Station>(new Station(std::move(impl)));
}

Status Station::run(const StationCallbacks& callbacks) {
  Impl& s = *impl_;
  const std::atomic<bool>& stop = *s.stop;
  s.callbacks = &callbacks;
  Status image;
  while (!stop.load()) {
    if (s.config.count && s.counts.good >= s.config.count && s.jobs.empty()) break;
    if (image = s.flasher->image_status(); !image && s.jobs.empty()) break;
    for (const auto& change : s.monitor.wait(kTickMs)) {
      if (stop.load()) break;
      if (change.kind == DeviceChange::Inserted) s.inserted(change.name);
      else s.removed(change.name);
    }
    s.collect_written();
    s.collect_verified();
    if (!s.waiting.empty() && !stop.load()) s.retry_waiting();
    s.refresh();
    if (callbacks.on_tick) callbacks.on_tick();
  }
  // Stopped: the writers and verifiers see the flag, flush and end; every
  // busy drive is recorded.
  while (!s.jobs.empty()) {
    s.collect_written();
    s.collect_verified();
    if (!s.jobs.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  s.refresh();
  if (callbacks.on_tick) callbacks.on_tick();
  return image;
}

std::vector<SlotStatus> Station::slots() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->slots;
}

StationCounts Station::counts() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->counts;
}

uint64_t Station::virtual_size() const { return impl_->flasher->virtual_size(); }

bool Station::uevents() const { return impl_->monitor.uevents(); }

}  // namespace qflash
