// StopOnSignal: while alive, SIGINT and SIGTERM set a stop flag owned by the
// caller instead of killing the process, so the engine can drain, flush and
// report. A second signal ends the process at once (exit 130).
//
// The signals are blocked in every thread and taken by one watcher thread
// with sigtimedwait: no handler, so no global is needed to reach the flag,
// and threads started meanwhile (the engine's) inherit the blocked mask.
#pragma once

#include <signal.h>

#include <atomic>
#include <thread>

namespace qflash::cli {

class StopOnSignal {
 public:
  explicit StopOnSignal(std::atomic<bool>& stop);
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  std::atomic<bool>& stop_;
  std::atomic<bool> done_{false};
  sigset_t old_mask_;
  std::thread watcher_;
};

}  // namespace qflash::cli
