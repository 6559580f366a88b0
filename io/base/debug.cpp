#include "io/base/debug.h"

#include <atomic>
#include <mutex>

namespace qflash {
namespace {

// The sink lives behind a mutex, with its level in an atomic so that the
// common case (no sink, or a line below its level) takes no lock. Function-local statics: safe to log from static
// constructors and destructors of other files.
struct SinkHolder {
  std::mutex mutex;
  LogSink sink;
  static constexpr int kNone = 100;  // above every level
  std::atomic<int> min_level{kNone};
};

SinkHolder& holder() {
  static SinkHolder h;
  return h;
}

}  // namespace

void set_log_sink(LogSink sink, LogLevel min_level) {
  SinkHolder& h = holder();
  std::lock_guard lock(h.mutex);
  h.min_level.store(sink ? int(min_level) : SinkHolder::kNone, std::memory_order_release);
  h.sink = std::move(sink);
}

bool log_enabled(LogLevel level) {
  return int(level) >= holder().min_level.load(std::memory_order_acquire);
}

void log_line(LogLevel level, std::string_view line) {
  SinkHolder& h = holder();
  std::lock_guard lock(h.mutex);
  if (h.sink && int(level) >= h.min_level.load(std::memory_order_relaxed)) h.sink(level, line);
}

}  // namespace qflash
