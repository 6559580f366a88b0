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
// The run's callback for SIGUSR1 and SIGWINCH; empty outside a run.
std::mutex g_notify_mutex;
std::function<void(int)> g_notify;

sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGWINCH}) sigaddset(&set, s);
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
    const sigset_t set = watched_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // Detached: it lives as long as the process, blocked in sigwait.
    std::thread([set] {
      for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGUSR1 || sig == SIGWINCH) {
          std::lock_guard lock(g_notify_mutex);
          if (g_notify) g_notify(sig);
          continue;
        }
        std::atomic<bool>* stop = g_stop.load();
        if (!stop) exit_now("\ninterrupted\n");
        if (stop->exchange(true)) exit_now("\ninterrupted again: exiting without waiting\n");
      }
    }).detach();
  });
}

StopOnSignal::StopOnSignal(std::atomic<bool>& stop, std::function<void(int)> notify) {
  watch_stop_signals();  // a no-op when main did it, as it should
  {
    std::lock_guard lock(g_notify_mutex);
    g_notify = std::move(notify);
  }
  g_stop = &stop;
}

StopOnSignal::~StopOnSignal() {
  g_stop = nullptr;
  std::lock_guard lock(g_notify_mutex);
  g_notify = nullptr;
}

}  // namespace qflash::cli
