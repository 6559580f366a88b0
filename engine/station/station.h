// Station: flashes one image onto every drive plugged into an allowed slot,
// as it is plugged in, each at its own pace: write, verify by read-back,
// flush, done; the slot is ready again when the drive is pulled. Refuses the
// disk holding / or /boot, drives in use (mounted, swap, held) and drives too
// small; ignores anything no --slot pattern matches. Prints nothing: the
// caller watches through the callbacks and slots().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/write/mass_writer.h"
#include "io/devices/devices.h"
#include "io/source.h"

namespace qflash {

struct StationConfig {
  std::string image;
  SourceOptions source;
  WriteOptions write;             // memory, jobs, queue depth, sparse; `stop` stops the station
  std::vector<std::string> slots; // --slot patterns (slot_matches); at least one
  std::vector<std::pair<std::string, std::string>> slot_names;  // slot -> label
  bool verify = true;
  uint64_t count = 0;             // stop after this many good drives; 0: never
};

enum class SlotState { Empty, Writing, Verifying, Done, Failed, Refused };
const char* to_string(SlotState state);

struct SlotStatus {
  std::string slot;                // slot name (Drive::slot)
  std::string label;               // from --slot-names, else the slot name
  std::optional<Drive> drive;      // the drive in it, while one is
  SlotState state = SlotState::Empty;
  uint64_t done = 0, total = 0;    // bytes written, or verified while verifying
  double seconds = 0;              // in the current phase (writing or verifying)
  std::string error;               // why it failed or was refused
};

// The audit record of one drive, once it is done, failed, refused or cut
// short by a stop.
struct DriveRecord {
  std::chrono::system_clock::time_point time;  // when it ended
  std::string slot, label;
  Drive drive;
  std::string image;
  uint64_t bytes = 0;          // written and flushed
  double seconds = 0;          // writing, verifying and flushing
  std::string result;          // "ok", "failed", "too_small", "refused", "interrupted"
  std::string verify;          // "ok", "failed", "skipped" (--no-verify or never reached)
  std::string error;           // empty when ok
  // When ok: the SHA-256 of the raw bytes written to the drive (what a
  // read-back of its first `bytes` gives), and of the image file read, if
  // known by then (always with WriteOptions::image_sha256).
  std::optional<Sha256::Digest> sha256, image_sha256;
};

struct StationCallbacks {
  // A slot changed state or got or lost a drive; `event` names what
  // happened: "inserted", "writing", "verifying", "done", "failed",
  // "refused", "removed", "interrupted"; or "ignored" for a drive no
  // pattern matches (status.slot and drive set, the slot not kept).
  std::function<void(const std::string& event, const SlotStatus& status)> on_event;
  std::function<void(const DriveRecord&)> on_record;
  // About four times a second, on the same thread, for redraws.
  std::function<void()> on_tick;
};

struct StationCounts {
  uint64_t good = 0, failed = 0, refused = 0;  // refused: also too small
  uint64_t interrupted = 0;                    // cut short by the stop flag
};

class Station {
 public:
  // Opens and validates the image; watches nothing yet.
  static Result<std::unique_ptr<Station>> create(StationConfig config);
  ~Station();

  // Watches and flashes until config.write.stop is set (then every write
  // is cut short, flushed and recorded as interrupted), or `count` good
  // drives are done, or the image failed (corrupt, not the published
  // digest: no drive could be written any more; the drives busy then are
  // recorded, and the error returned). Callbacks run on the calling
  // thread. Drives already present when it starts count as inserted.
  Status run(const StationCallbacks& callbacks);

  // The slots seen so far (and those named in slot_names), in the order
  // first seen. Thread-safe.
  std::vector<SlotStatus> slots() const;
  StationCounts counts() const;
  uint64_t virtual_size() const;
  // Whether the kernel's uevents wake the monitor (else it polls alone).
  bool uevents() const;

 private:
  struct Impl;
  explicit Station(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qflash
