#include "tools/cli/station.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "engine/station/slots.h"
#include "io/base/fd.h"
#include "io/http/url.h"
#include "tools/cli/cli.h"
#include "tools/cli/options.h"
#include "tools/cli/progress.h"
#include "tools/cli/signals.h"
#include "tools/cli/station_view.h"

namespace qflash::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kRedraw = std::chrono::milliseconds(250);
constexpr auto kEventProgress = std::chrono::seconds(1);
constexpr auto kPlainProgress = std::chrono::seconds(5);

void write_all(int fd, const std::string& text) {
  (void)!::write(fd, text.data(), text.size());
}

// The terminal's size, asked at each redraw so a resize is followed.
void terminal_size(size_t& columns, size_t& rows) {
  winsize ws{};
  columns = 80;
  rows = 24;
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
    columns = ws.ws_col;
    rows = ws.ws_row;
  }
}

}  // namespace

int station(const char* prog, StationRequest& req) {
  if (!req.slot_names_file.empty()) {
    std::ifstream in(req.slot_names_file);
    if (!in) return fail(prog, io_error("open " + req.slot_names_file, errno));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto names = parse_slot_names(text, req.slot_names_file);
    if (!names) return fail(prog, names.error());
    req.config.slot_names = std::move(names).value();
  }
  if (!req.checksums.empty())
    if (auto st = image_digest_from(req.checksums, redact_url(req.config.image),
                                    req.config.write.image_sha256);
        !st)
      return fail(prog, st.error());
  Fd log;
  if (!req.log.empty()) {
    log.reset(::open(req.log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    if (!log.valid()) return fail(prog, io_error("open log " + req.log, errno));
  }

  // A controller that closes the --events pipe must not end the station
  // mid-write: writes to it fail instead.
  ::signal(SIGPIPE, SIG_IGN);
  // Signals are taken before any thread starts, so every thread blocks them.
  std::atomic<bool> stop{false}, status{false}, resized{false};
  StopOnSignal on_signal(stop, [&](int signal) { (signal == SIGUSR1 ? status : resized) = true; });
  req.config.write.stop = &stop;
  req.config.source.stop = &stop;
  const MemoryShares shares = share_memory(req.config.write.memory, req.config.image);
  req.config.write.memory = shares.engine;
  req.config.source.cache_bytes = shares.caches;
  const std::string image = redact_url(req.config.image);
  auto created = Station::create(req.config);
  if (!created) return fail(prog, created.error());
  Station& station = **created;

  const bool table = isatty(STDERR_FILENO);
  const std::string title = image + " (" + human_size(station.virtual_size()) + ")";
  auto emit = [&](const std::string& line) {
    // One write per line: a reader of the pipe never sees half a record.
    write_all(STDOUT_FILENO, line + "\n");
  };
  if (req.events)
    emit("{\"time\": \"" + utc_time(std::chrono::system_clock::now()) +
         "\", \"event\": \"started\", \"image\": \"" + json_escape(image) +
         "\", \"virtual_size\": " + std::to_string(station.virtual_size()) +
         ", \"verify\": " + (req.config.verify ? "true" : "false") +
         ", \"uevents\": " + (station.uevents() ? "true" : "false") + "}");
  if (!table)
    std::fprintf(stderr, "%s: flashing %s onto drives in the allowed slots; waiting for drives\n",
                 prog, title.c_str());
  if (table) write_all(STDERR_FILENO, "\x1b[?1049h\x1b[?25l");  // own screen, no cursor

  // On a terminal the SIGUSR1 status line is shown under the table for a
  // while: printed, it would be drawn over at once.
  std::string status_text;
  Clock::time_point status_until{};
  auto draw = [&] {
    size_t columns, rows;
    terminal_size(columns, rows);
    const bool with_status = Clock::now() < status_until && rows > 2;
    // Never the last column nor the last row: the terminal would scroll.
    auto lines = station_table(station.slots(), station.counts(), title, columns - 1,
                               rows - 1 - with_status);
    if (with_status) lines.push_back(status_text.substr(0, columns - 1));
    std::string out = "\x1b[H";
    for (const auto& line : lines) out += line + "\x1b[K\r\n";
    out += "\x1b[J";
    write_all(STDERR_FILENO, out);
  };

  Clock::time_point drawn{}, evented = Clock::now(), printed = Clock::now();
  StationCallbacks callbacks;
  callbacks.on_event = [&](const std::string& event, const SlotStatus& slot) {
    if (req.events) emit(event_json(event, slot, std::chrono::system_clock::now()));
    if (table || event == "ignored") return;
    std::string text = slot.label + ": " + event;
    if (slot.drive)
      text += " " + slot.drive->path +
              (slot.drive->model.empty() ? "" : " (" + slot.drive->model + " " + slot.drive->serial + ")");
    if (!slot.error.empty()) text += ": " + slot.error;
    std::fprintf(stderr, "%s: %s\n", prog, text.c_str());
  };
  callbacks.on_record = [&](const DriveRecord& record) {
    if (!log.valid()) return;
    const std::string line = record_json(record, station.virtual_size()) + "\n";
    // One write per record, then to stable storage: a power cut loses at
    // most the drive in progress.
    if (::write(log.get(), line.data(), line.size()) != ssize_t(line.size()) ||
        ::fdatasync(log.get()) != 0)
      std::fprintf(stderr, "%s: writing the log %s: %s\n", prog, req.log.c_str(),
                   std::strerror(errno));
  };
  callbacks.on_tick = [&] {
    const auto now = Clock::now();
    bool redraw = resized.exchange(false);
    if (status.exchange(false)) {
      status_text = status_line(station.slots(), station.counts());
      if (table) {
        status_until = now + std::chrono::seconds(10);
        redraw = true;
      } else {
        std::fprintf(stderr, "%s: %s\n", prog, status_text.c_str());
      }
    }
    if (table && (redraw || now - drawn >= kRedraw)) {
      drawn = now;
      draw();
    }
    const bool event_due = req.events && now - evented >= kEventProgress;
    const bool plain_due = !table && now - printed >= kPlainProgress;
    if (event_due) evented = now;
    if (plain_due) printed = now;
    if (!event_due && !plain_due) return;
    for (const auto& s : station.slots()) {
      if (s.state != SlotState::Writing && s.state != SlotState::Verifying) continue;
      if (event_due) emit(event_json("progress", s, std::chrono::system_clock::now()));
      if (plain_due)
        std::fprintf(stderr, "%s: %s: %s %s\n", prog, s.label.c_str(), to_string(s.state),
                     progress_text(s.done, s.total, s.seconds, false).c_str());
    }
  };

  auto ran = station.run(callbacks);
  if (table) {
    draw();
    write_all(STDERR_FILENO, "\x1b[?25h\x1b[?1049l");
  }
  const StationCounts counts = station.counts();
  // The image failed: its line first, then the report as for any end.
  const int ran_status = ran ? kOk : fail(prog, ran.error());
  // The report: every slot's last state, then the counts.
  for (const auto& s : station.slots())
    if (s.drive || s.state != SlotState::Empty)
      std::fprintf(stderr, "%s: %s: %s\n", prog, s.label.c_str(), slot_state_text(s).c_str());
  std::fprintf(stderr, "%s: %s: good %llu, failed %llu, refused %llu, interrupted %llu\n", prog,
               stop || !ran ? "stopped" : "done", (unsigned long long)counts.good,
               (unsigned long long)counts.failed, (unsigned long long)counts.refused,
               (unsigned long long)counts.interrupted);
  // As for qflash write: a drive cut short by a signal makes it 130.
  const int exit_status =
      counts.interrupted ? kInterrupted : counts.failed ? kTargetsFailed : ran_status;
  if (req.events)
    emit("{\"time\": \"" + utc_time(std::chrono::system_clock::now()) +
         "\", \"event\": \"stopped\", \"reason\": \"" +
         (stop ? "signal" : !ran ? "image" : "count") +
         "\", \"good\": " + std::to_string(counts.good) + ", \"failed\": " +
         std::to_string(counts.failed) + ", \"refused\": " + std::to_string(counts.refused) +
         ", \"interrupted\": " + std::to_string(counts.interrupted) +
         ", \"exit_status\": " + std::to_string(exit_status) + "}");
  return exit_status;
}

}  // namespace qflash::cli
