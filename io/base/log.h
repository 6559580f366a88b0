// Logging through a sink the caller sets: the library never prints. The
// tools set one that prints warnings to stderr, and debug lines too with
// --debug. Installed as <qflash/log.h>: standard headers only.
#pragma once

#include <functional>
#include <string_view>

namespace qflash {

// Debug: internals (header fields, lookups, requests); Warning: something
// the user should know that does not stop the run (a backup GPT used).
enum class LogLevel { Debug = 0, Warning = 1 };

// Receives one line (no newline) with its level. Called from whichever
// library thread logs (the caller's, workers', the HTTP thread), one call at
// a time: the library serializes the calls, so the sink needs no lock.
using LogSink = std::function<void(LogLevel level, std::string_view line)>;

// Sets the process-wide sink (an empty function: none), called for lines of
// `min_level` and above. Thread-safe; a line being passed to the old sink
// finishes first.
void set_log_sink(LogSink sink, LogLevel min_level = LogLevel::Debug);

}  // namespace qflash
