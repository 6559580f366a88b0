// `qflash station`: the front end of engine/station. Shows the slots (a
// table on a terminal, plain lines otherwise), writes --events and --log,
// takes SIGUSR1 (status line), SIGWINCH (redraw) and SIGINT/SIGTERM/SIGHUP
// (clean stop) and turns the outcome into the exit status.
#pragma once

#include <string>

#include "engine/station/station.h"

namespace qflash::cli {

struct StationRequest {
  StationConfig config;
  std::string slot_names_file;  // --slot-names
  std::string log;              // --log: JSON-lines audit file, appended
  bool events = false;          // --events: JSON lines on stdout
  std::string checksums;        // --checksums: a SHA256SUMS file with the image's digest
};

// Returns the exit status: 0 no drive failed, 1 nothing started (bad usage,
// image, log file), 2 a drive failed, 130 a signal cut a drive short.
int station(const char* prog, StationRequest& request);

}  // namespace qflash::cli
