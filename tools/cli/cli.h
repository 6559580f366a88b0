// What the front ends share: exit codes, human sizes, size parsing, JSON
// escaping, one-line error reporting and the block-device confirmation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/chain/chain.h"
#include "io/base/error.h"
#include "io/base/size.h"

namespace qflash::cli {

enum Exit : int {
  kOk = 0,
  kBadInput = 1,       // bad usage, bad image, refused target: nothing written
  kTargetsFailed = 2,  // some targets failed while writing
  kInterrupted = 130,
};

using qflash::human_size;  // io/base/size.h
using qflash::parse_size;

std::string json_escape(const std::string& s);

// Prints "PROG: message" on stderr and returns the exit code for it.
int fail(const char* prog, const Error& error);

// A block device's size and model for the confirmation prompt.
std::string describe_device(const std::string& path);

// For targets that are block devices and no --yes: on a terminal, name the
// image and its virtual size, list the devices and ask; without a terminal,
// refuse. True when writing may go on.
bool confirm_block_devices(const char* prog, const std::vector<std::string>& devices,
                           const std::string& image, uint64_t virtual_size);

// The single IMAGE argument of a command that reads an image, opened with
// its backing chain. On failure prints why (the help for a wrong argument
// count) and sets `exit_code`.
std::optional<Chain> open_image_arg(const std::vector<std::string>& positional, const char* help,
                                    const SourceOptions& source, int& exit_code);

}  // namespace qflash::cli
