// StopOnSignal: while alive, SIGINT, SIGTERM and SIGHUP set a stop flag
// owned by the caller instead of killing the process, so the engine can
// drain, flush and report. A second signal ends the process at once (exit
// 130). With a `notify` callback, SIGUSR1 (status, as dd) and SIGWINCH
// (terminal resized) are taken too and passed to it.
//
// The signals are blocked in every thread and taken by one watcher thread
// with sigtimedwait: no handler, so no global is needed to reach the flag,
// and threads started meanwhile (the engine's) inherit the blocked mask.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace qflash::cli {

class StopOnSignal {
 public:
  // `notify` runs on the watcher thread: keep it to setting flags.
  explicit StopOnSignal(std::atomic<bool>& stop, std::function<void(int signal)> notify = {});
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  std::atomic<bool>& stop_;
  std::function<void(int)> notify_;
  std::atomic<bool> done_{false};
  sigset_t old_mask_;
  std::thread watcher_;
};

}  // namespace qflash::cli
