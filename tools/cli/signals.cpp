#include "tools/cli/signals.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <thread>

#include "tools/cli/cli.h"

namespace qflash::cli {
namespace {

// The flag of the run in progress, or null outside a run.
std::atomic<std::atomic<bool>*> g_stop{nullptr};

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

// From the watcher thread (not a handler): stdio may be used. A report
// already printed but still buffered is not lost.
void exit_now(const char* why) {
  std::fflush(stdout);
  (void)!::write(STDERR_FILENO, why, __builtin_strlen(why));
  ::_exit(kInterrupted);
}

}  // namespace

void watch_stop_signals() {
  static std::once_flag once;
  std::call_once(once, [] {
    const sigset_t set = stop_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // Detached: it lives as long as the process, blocked in sigwait.
    std::thread([set] {
      for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        std::atomic<bool>* stop = g_stop.load();
        if (!stop) exit_now("\ninterrupted\n");
        if (stop->exchange(true)) exit_now("\ninterrupted again: exiting without waiting\n");
      }
    }).detach();
  });
}

StopOnSignal::StopOnSignal(std::atomic<bool>& stop) {
  watch_stop_signals();  // a no-op when main did it, as it should
  g_stop = &stop;
}

StopOnSignal::~StopOnSignal() { g_stop = nullptr; }

}  // namespace qflash::cli
