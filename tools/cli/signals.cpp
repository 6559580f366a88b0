#include "tools/cli/signals.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "tools/cli/cli.h"

namespace qflash::cli {
namespace {

sigset_t stop_signals(bool notify) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  if (notify) {
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGWINCH);
  }
  return set;
}

bool is_notice(int signal) { return signal == SIGUSR1 || signal == SIGWINCH; }

}  // namespace

StopOnSignal::StopOnSignal(std::atomic<bool>& stop, std::function<void(int)> notify)
    : stop_(stop), notify_(std::move(notify)) {
  const sigset_t set = stop_signals(bool(notify_));
  pthread_sigmask(SIG_BLOCK, &set, &old_mask_);
  watcher_ = std::thread([this, set] {
    // Polls done_ every 100 ms: simpler than waking the thread with a signal.
    const timespec tick{0, 100'000'000};
    while (!done_.load()) {
      const int signal = sigtimedwait(&set, nullptr, &tick);
      if (signal < 0) continue;
      if (is_notice(signal)) {
        notify_(signal);
        continue;
      }
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
  const sigset_t set = stop_signals(bool(notify_));
  const timespec now{0, 0};
  for (int signal; (signal = sigtimedwait(&set, nullptr, &now)) > 0;)
    if (!is_notice(signal)) stop_ = true;
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

}  // namespace qflash::cli
