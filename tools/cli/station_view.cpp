#include "tools/cli/station_view.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "tools/cli/cli.h"
#include "tools/cli/progress.h"

namespace qflash::cli {
namespace {

constexpr size_t kMaxLabel = 16;
constexpr size_t kMaxDrive = 36;

// `text` in exactly `width` columns: control bytes shown as '?' (a label
// from a file must not steer the terminal), clipped with '~', padded.
std::string cell(const std::string& text, size_t width) {
  std::string out;
  for (unsigned char c : text) out += c < 0x20 || c == 0x7f ? '?' : char(c);
  if (out.size() > width) out = width ? out.substr(0, width - 1) + "~" : "";
  return out + std::string(width - out.size(), ' ');
}

std::string clip(const std::string& line, size_t columns) {
  return line.size() > columns ? line.substr(0, columns) : line;
}

std::string drive_text(const SlotStatus& s) {
  if (!s.drive) return "";
  std::string text = s.drive->model;
  if (!s.drive->serial.empty()) text += (text.empty() ? "" : " ") + s.drive->serial;
  return text.empty() ? s.drive->path : text;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  out += json_escape(s);
  out += '"';
  return out;
}

std::string number(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

bool busy(const SlotStatus& s) {
  return s.state == SlotState::Writing || s.state == SlotState::Verifying;
}

}  // namespace

std::string utc_time(std::chrono::system_clock::time_point time) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
  const std::time_t secs = std::time_t(ms.count() / 1000);
  std::tm tm;
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                int(ms.count() % 1000));
  return buf;
}

std::string slot_state_text(const SlotStatus& s) {
  const int percent = s.total ? int(100.0 * double(s.done) / double(s.total)) : 0;
  switch (s.state) {
    case SlotState::Empty: return s.drive ? "inserted" : "empty";
    case SlotState::Writing: {
      std::string text = "writing " + std::to_string(percent) + "%  " + rate(s.done, s.seconds);
      if (s.done && s.done < s.total && s.seconds > 0)
        text += "  ETA " + clock_time(double(s.total - s.done) * s.seconds / double(s.done));
      return text;
    }
    case SlotState::Verifying: return "verifying " + std::to_string(percent) + "%";
    case SlotState::Done: return "done - remove the drive";
    case SlotState::Failed: return "FAILED: " + s.error;
    case SlotState::Refused: return "refused: " + s.error;
  }
  return "";
}

std::vector<std::string> station_table(const std::vector<SlotStatus>& slots,
                                       const StationCounts& counts, const std::string& image,
                                       size_t columns, size_t rows) {
  std::vector<std::string> out;
  if (rows == 0 || columns == 0) return out;
  // The counts first: on a narrow terminal the image name is what is clipped.
  out.push_back(clip("good " + std::to_string(counts.good) + "  failed " +
                         std::to_string(counts.failed) + "  refused " +
                         std::to_string(counts.refused) + "  |  " + image,
                     columns));
  size_t label_w = 4, drive_w = 5;
  for (const auto& s : slots) {
    label_w = std::max(label_w, std::min(s.label.size(), kMaxLabel));
    drive_w = std::max(drive_w, std::min(drive_text(s).size(), kMaxDrive));
  }
  // A narrow terminal takes from the drive column first, then the label;
  // the state keeps at least 12 columns.
  const size_t fixed = 4;  // two gaps of two
  while (label_w + drive_w + fixed + 12 > columns && drive_w > 8) --drive_w;
  while (label_w + drive_w + fixed + 12 > columns && label_w > 4) --label_w;
  const size_t state_w = columns > label_w + drive_w + fixed ? columns - label_w - drive_w - fixed : 0;
  auto row = [&](const std::string& a, const std::string& b, const std::string& c) {
    return clip(cell(a, label_w) + "  " + cell(b, drive_w) + "  " + cell(c, state_w), columns);
  };
  if (rows > 1) out.push_back(row("SLOT", "DRIVE", "STATE"));
  const size_t room = rows > out.size() ? rows - out.size() : 0;
  const bool all_fit = slots.size() <= room;
  const size_t shown = all_fit ? slots.size() : room ? room - 1 : 0;
  for (size_t i = 0; i < shown; ++i)
    out.push_back(row(slots[i].label, drive_text(slots[i]), slot_state_text(slots[i])));
  if (!all_fit && room) {
    size_t writing = 0;
    for (size_t i = shown; i < slots.size(); ++i) writing += busy(slots[i]);
    out.push_back(clip("... " + std::to_string(slots.size() - shown) + " more slots (" +
                           std::to_string(writing) + " busy); enlarge the terminal",
                       columns));
  }
  // Trailing blanks would wrap on a terminal that is exactly this wide.
  for (auto& line : out) line.erase(line.find_last_not_of(' ') + 1);
  return out;
}

std::string event_json(const std::string& event, const SlotStatus& s,
                       std::chrono::system_clock::time_point time) {
  std::string out = "{\"time\": " + quoted(utc_time(time)) + ", \"event\": " + quoted(event) +
                    ", \"slot\": " + quoted(s.slot) + ", \"label\": " + quoted(s.label) +
                    ", \"state\": " + quoted(to_string(s.state));
  if (s.drive) {
    out += ", \"device\": " + quoted(s.drive->path) + ", \"vendor\": " + quoted(s.drive->vendor) +
           ", \"model\": " + quoted(s.drive->model) + ", \"serial\": " + quoted(s.drive->serial) +
           ", \"size\": " + std::to_string(s.drive->size);
  } else {
    out += ", \"device\": null, \"vendor\": null, \"model\": null, \"serial\": null, \"size\": null";
  }
  const bool moving = busy(s);
  out += ", \"bytes\": " + std::to_string(s.done) + ", \"total\": " + std::to_string(s.total);
  out += ", \"percent\": " + (s.total ? number(100.0 * double(s.done) / double(s.total), 1) : "null");
  out += ", \"mb_per_s\": " +
         (moving && s.seconds > 0 ? number(double(s.done) / s.seconds / 1e6, 3) : "null");
  out += ", \"eta_seconds\": " +
         (moving && s.done && s.done < s.total && s.seconds > 0
              ? number(double(s.total - s.done) * s.seconds / double(s.done), 1)
              : "null");
  out += ", \"error\": " + (s.error.empty() ? std::string("null") : quoted(s.error)) + "}";
  return out;
}

std::string record_json(const DriveRecord& r, uint64_t virtual_size) {
  return "{\"time\": " + quoted(utc_time(r.time)) + ", \"slot\": " + quoted(r.slot) +
         ", \"label\": " + quoted(r.label) + ", \"device\": " + quoted(r.drive.path) +
         ", \"vendor\": " + quoted(r.drive.vendor) + ", \"model\": " + quoted(r.drive.model) +
         ", \"serial\": " + quoted(r.drive.serial) + ", \"size\": " + std::to_string(r.drive.size) +
         ", \"image\": " + quoted(r.image) + ", \"virtual_size\": " + std::to_string(virtual_size) +
         ", \"bytes\": " + std::to_string(r.bytes) + ", \"seconds\": " + number(r.seconds, 3) +
         ", \"result\": " + quoted(r.result) + ", \"verify\": " + quoted(r.verify) +
         ", \"error\": " + (r.error.empty() ? std::string("null") : quoted(r.error)) +
         ", \"sha256\": " + (r.sha256 ? quoted(Sha256::hex(*r.sha256)) : std::string("null")) +
         ", \"image_sha256\": " +
         (r.image_sha256 ? quoted(Sha256::hex(*r.image_sha256)) : std::string("null")) + "}";
}

std::string status_line(const std::vector<SlotStatus>& slots, const StationCounts& counts) {
  std::string out = "good " + std::to_string(counts.good) + ", failed " +
                    std::to_string(counts.failed) + ", refused " + std::to_string(counts.refused);
  const char* sep = "; ";
  for (const auto& s : slots) {
    if (s.state == SlotState::Empty && !s.drive) continue;
    out += sep + s.label + " " + slot_state_text(s);
    sep = ", ";
  }
  return out;
}

}  // namespace qflash::cli
