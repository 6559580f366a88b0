// Progress: the live view of a write on a terminal, one line per target and
// a total (bytes, rate in MB/s = 10^6 bytes/s, ETA), redrawn in place at
// most four times a second. When stderr is not a terminal it draws nothing.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "engine/write/mass_writer.h"

namespace qflash::cli {

class Progress {
 public:
  // `live`: draw at all (stderr is a terminal).
  Progress(std::vector<std::string> paths, bool live);

  // The engine's progress callback; throttled.
  void update(const std::vector<TargetProgress>& progress);
  // Draws the last state, whatever the throttle says.
  void finish();

 private:
  void draw();

  std::vector<std::string> paths_;
  bool live_;
  std::vector<TargetProgress> last_;
  std::vector<double> ended_;  // seconds at which each target ended, 0 while running
  std::chrono::steady_clock::time_point start_, drawn_at_;
  size_t lines_drawn_ = 0;
};

// "1:05:09", "4:07": a duration for ETAs.
std::string clock_time(double seconds);
// "812 MB/s" from bytes and seconds (MB = 10^6 bytes).
std::string rate(uint64_t bytes, double seconds);

}  // namespace qflash::cli
