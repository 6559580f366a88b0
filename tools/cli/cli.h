// What the front ends share: exit codes, human sizes, size parsing, JSON
// escaping, one-line error reporting and the block-device confirmation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/chain/chain.h"
#include "io/base/error.h"
#include "io/base/size.h"
#include "io/target.h"

namespace qflash::cli {

enum Exit : int {
  kOk = 0,
  kBadInput = 1,       // refused before writing (usage, image, backing file, target): nothing written
  kTargetsFailed = 2,  // failed after writing: some targets, or the run after bytes reached them
  kInterrupted = 130,
};

using qflash::human_size;  // io/base/size.h
using qflash::parse_size;

// `s` as the inside of a JSON string: always valid UTF-8. Quotes, backslashes
// and control characters are escaped; each byte that is not part of a
// well-formed UTF-8 sequence becomes \ufffd (the replacement character).
std::string json_escape(std::string_view s);

// `s` made safe for a terminal: control characters (C0, DEL, C1) and bytes
// that are not well-formed UTF-8 become \xHH; everything else is kept. Used
// for every name or message printed for humans (names come from images,
// servers and command lines).
std::string terminal_safe(std::string_view s);

// Prints "PROG: message" on stderr and returns the exit code for it.
int fail(const char* prog, const Error& error);

// For targets that are block devices and no --yes: on a terminal, show the
// image (name, virtual size) and each device as it was opened and checked
// (size, model, serial, disk sequence) and ask; without a terminal, refuse.
// True when writing may go on.
bool confirm_block_devices(const char* prog, const std::string& image, uint64_t virtual_size,
                           const std::vector<Target>& targets);

// The single IMAGE argument of a command that reads an image, opened with
// its backing chain. On failure prints why (the help for a wrong argument
// count) and sets `exit_code`.
std::optional<Chain> open_image_arg(const std::vector<std::string>& positional, const char* help,
                                    const SourceOptions& source, int& exit_code);

}  // namespace qflash::cli
