// Signals that stop a run (SIGINT, SIGTERM, SIGHUP) are blocked in main
// before any thread starts (watch_stop_signals), so every thread started
// later (HTTP, engine, workers) inherits the blocked mask and none of them
// can be killed outright; one watcher thread takes them with sigwait.
//
// Outside a run the first signal ends the process at once (exit 130:
// nothing has been written). While a StopOnSignal is alive the first signal
// sets its stop flag, so the engine can drain, flush and report; a second
// one ends the process at once.
#pragma once

#include <atomic>

namespace qflash::cli {

// Blocks the stop signals and starts the watcher; call first thing in main.
// Later calls do nothing.
void watch_stop_signals();

class StopOnSignal {
 public:
  explicit StopOnSignal(std::atomic<bool>& stop);
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
};

}  // namespace qflash::cli
