// Signals that stop a run (SIGINT, SIGTERM, SIGHUP) are blocked in main
// before any thread starts (watch_stop_signals), so every thread started
// later (HTTP, engine, workers) inherits the blocked mask and none of them
// can be killed outright; one watcher thread takes them with sigwait.
// SIGUSR1 (a status line, as dd prints) and SIGWINCH (terminal resized) are
// taken the same way and passed to the run's `notify` callback, if any.
//
// Outside a run the first stop signal ends the process at once (exit 130:
// nothing has been written). While a StopOnSignal is alive the first signal
// sets its stop flag, so the engine can drain, flush and report; a second
// one ends the process at once.
#pragma once

#include <atomic>
#include <functional>

namespace qflash::cli {

// Blocks the watched signals and starts the watcher; call first thing in
// main. Later calls do nothing.
void watch_stop_signals();

class StopOnSignal {
 public:
  // `notify` runs on the watcher thread: keep it to setting flags.
  explicit StopOnSignal(std::atomic<bool>& stop, std::function<void(int signal)> notify = {});
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
};

}  // namespace qflash::cli
