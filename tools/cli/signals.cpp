#include "tools/cli/signals.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "tools/cli/cli.h"

namespace qflash::cli {
namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

StopOnSignal::StopOnSignal(std::atomic<bool>& stop) : stop_(stop) {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, &old_mask_);
  watcher_ = std::thread([this, set] {
    // Polls done_ every 100 ms: simpler than waking the thread with a signal.
    const timespec tick{0, 100'000'000};
    while (!done_.load()) {
      if (sigtimedwait(&set, nullptr, &tick) < 0) continue;
      if (stop_.exchange(true)) {
        static const char msg[] = "\ninterrupted again: exiting without waiting\n";
        (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
        ::_exit(kInterrupted);
      }
    }
  });
}

StopOnSignal::~StopOnSignal() {
  done_ = true;
  watcher_.join();
  // A signal that came after the watcher's last wait would be delivered with
  // its default action on unblocking; the run is over, so take it here.
  const sigset_t set = stop_signals();
  const timespec now{0, 0};
  while (sigtimedwait(&set, nullptr, &now) > 0) stop_ = true;
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

}  // namespace qflash::cli
