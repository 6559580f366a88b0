// What `qflash station` shows: the slot table for a terminal, the --events
// JSON lines, the --log audit records and the plain lines for logs. Pure
// text builders (no I/O), so they are tested in memory.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "engine/station/station.h"

namespace qflash::cli {

// The table, one string per screen line, each at most `columns` bytes and
// at most `rows` lines in all (slots that do not fit are summed up in the
// last line): a header, one row per slot (label, drive model and serial,
// state with percent, MB/s and ETA), and the counts.
std::vector<std::string> station_table(const std::vector<SlotStatus>& slots,
                                       const StationCounts& counts, const std::string& image,
                                       size_t columns, size_t rows);

// "writing 42%  120 MB/s  ETA 0:12", "verifying 7%", "done - remove the drive",
// "FAILED: why", "refused: why", "empty".
std::string slot_state_text(const SlotStatus& slot);

// One --events line (no newline): {"time", "event", "slot", "label",
// "state", "device", "vendor", "model", "serial", "size", "bytes",
// "total", "percent", "mb_per_s", "eta_seconds", "error"}.
std::string event_json(const std::string& event, const SlotStatus& slot,
                       std::chrono::system_clock::time_point time);

// One --log record (no newline); schema in README.md, "Station mode".
std::string record_json(const DriveRecord& record, uint64_t virtual_size);

// "2026-11-30T13:20:01.250Z"
std::string utc_time(std::chrono::system_clock::time_point time);

// "good 3, failed 1, refused 0; A1 writing 42% ..., A2 done" (SIGUSR1).
std::string status_line(const std::vector<SlotStatus>& slots, const StationCounts& counts);

}  // namespace qflash::cli
