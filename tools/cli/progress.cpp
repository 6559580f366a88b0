#include "tools/cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "tools/cli/cli.h"

namespace qflash::cli {
namespace {

constexpr auto kRedraw = std::chrono::milliseconds(250);
constexpr auto kPlainEvery = std::chrono::seconds(5);  // a log, not an animation
constexpr size_t kMaxNameWidth = 32;

std::string line(const std::string& name, size_t width, uint64_t done, uint64_t total,
                 double seconds, bool failed) {
  return "  " + name + std::string(width - std::min(width, name.size()), ' ') + "  " +
         progress_text(done, total, seconds, failed);
}

}  // namespace

std::string progress_text(uint64_t done, uint64_t total, double seconds, bool failed) {
  if (failed) return "FAILED after " + human_size(done);
  if (!total) return human_size(done) + "  " + rate(done, seconds);  // the size is found at the end
  const int percent = int(100.0 * double(done) / double(total));
  std::string text = human_size(done) + " / " + human_size(total) + "  " +
                     std::to_string(percent) + "%  " + rate(done, seconds);
  if (done < total && done > 0 && seconds > 0)
    text += "  ETA " + clock_time(double(total - done) * seconds / double(done));
  return text;
}

std::string clock_time(double seconds) {
  const long s = long(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

std::string rate(uint64_t bytes, double seconds) {
  const double mbs = seconds > 0 ? double(bytes) / seconds / 1e6 : 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, mbs < 10 ? "%.1f MB/s" : "%.0f MB/s", mbs);
  return buf;
}

Progress::Progress(std::vector<std::string> paths, bool live, const char* prog,
                   std::atomic<bool>* status)
    : paths_(std::move(paths)), live_(live), prog_(prog), status_(status),
      start_(std::chrono::steady_clock::now()), drawn_at_(start_) {
  for (auto& p : paths_) p = terminal_safe(p);
}

void Progress::update(const std::vector<TargetProgress>& progress) {
  last_ = progress;
  if (status_ && status_->exchange(false) && prog_) print_lines();
  const auto now = std::chrono::steady_clock::now();
  if (now - drawn_at_ < (live_ ? std::chrono::steady_clock::duration(kRedraw) : kPlainEvery))
    return;
  drawn_at_ = now;
  if (live_) draw();
  else if (prog_) print_lines();
}

void Progress::print_lines() {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  for (size_t i = 0; i < last_.size() && i < paths_.size(); ++i) {
    const auto& p = last_[i];
    if (p.failed || (p.total && p.done == p.total)) continue;  // its end is in the report
    std::fprintf(stderr, "%s: %s: %s\n", prog_, paths_[i].c_str(),
                 progress_text(p.done, p.total, seconds, false).c_str());
  }
}

void Progress::finish() {
  if (live_ && !last_.empty()) draw();
}

void Progress::draw() {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  size_t width = 5;  // "total"
  for (const auto& p : paths_) width = std::max(width, std::min(p.size(), kMaxNameWidth));
  std::string out;
  // Back to the first line of the previous drawing, then overwrite it.
  if (lines_drawn_) out += "\x1b[" + std::to_string(lines_drawn_) + "A";
  uint64_t done = 0, total = 0;
  bool totals_known = true;
  ended_.resize(last_.size());
  for (size_t i = 0; i < last_.size() && i < paths_.size(); ++i) {
    const auto& p = last_[i];
    // A target's rate stops with it, not with the slowest one.
    if (!ended_[i] && (p.failed || (p.total && p.done == p.total))) ended_[i] = seconds;
    const double own = ended_[i] ? ended_[i] : seconds;
    out += "\r\x1b[2K" + line(paths_[i], width, p.done, p.total, own, p.failed) + "\n";
    if (!p.failed) {
      done += p.done;
      total += p.total;
      totals_known = totals_known && p.total;
    }
  }
  lines_drawn_ = last_.size();
  if (last_.size() > 1) {
    out += "\r\x1b[2K" + line("total", width, done, totals_known ? total : 0, seconds, false) + "\n";
    ++lines_drawn_;
  }
  (void)!::write(STDERR_FILENO, out.data(), out.size());
}

}  // namespace qflash::cli
