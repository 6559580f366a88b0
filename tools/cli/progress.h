// Progress: the live view of a write on a terminal, one line per target and
// a total (bytes, rate in MB/s = 10^6 bytes/s, ETA), redrawn in place at
// most four times a second. When stderr is not a terminal (systemd, pipes,
// CI) it prints plain lines instead, one per running target every 5 s.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "engine/write/mass_writer.h"

namespace qflash::cli {

class Progress {
 public:
  // `live`: draw in place (stderr is a terminal); else plain lines that
  // start with "PROG: " (none when `prog` is null). When `status` (may be
  // null) is set, the next update prints the plain lines at once and clears it.
  Progress(std::vector<std::string> paths, bool live, const char* prog = nullptr,
           std::atomic<bool>* status = nullptr);

  // The engine's progress callback; throttled.
  void update(const std::vector<TargetProgress>& progress);
  // Draws the last state, whatever the throttle says.
  void finish();

 private:
  void draw();
  void print_lines();

  std::vector<std::string> paths_;
  bool live_;
  const char* prog_;
  std::atomic<bool>* status_;
  std::vector<TargetProgress> last_;
  std::vector<double> ended_;  // seconds at which each target ended, 0 while running
  std::chrono::steady_clock::time_point start_, drawn_at_;
  size_t lines_drawn_ = 0;
};

// "1:05:09", "4:07": a duration for ETAs.
std::string clock_time(double seconds);
// "812 MB/s" from bytes and seconds (MB = 10^6 bytes).
std::string rate(uint64_t bytes, double seconds);
// "512 MiB / 2 GiB  25%  120 MB/s  ETA 0:12", "512 MiB  120 MB/s" while the
// total is not known (0), or "FAILED after 3 MiB".
std::string progress_text(uint64_t done, uint64_t total, double seconds, bool failed);

}  // namespace qflash::cli
