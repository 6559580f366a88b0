// Support for the write-path tests: loop devices and mounts that always go
// away (also when a test fails), and queries into a --json report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/support.h"

namespace qflash::test {


// `mount [-t TYPE] [-o OPTIONS] SOURCE DIR`; unmounted at the end.
class Mount {
 public:
  Mount(const std::string& source, const std::string& dir, const std::string& type = "",
        const std::string& options = "");
  ~Mount();
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;

 private:
  std::string dir_;
  bool mounted_ = false;
};

// A write that failed as a whole: either before writing (exit 1, one line
// on stderr) or after bytes reached the targets (exit 2, that line first,
// then one "PATH: failed after N (B bytes) reached it" per target). The first
// line holds every one of `causes`. Returns the bytes reached per target
// line (empty for exit 1).
std::vector<uint64_t> expect_run_failed(const CommandResult& r,
                                        const std::vector<std::string>& causes);

// What a run that stopped or failed after writing left on `target` (a file
// or device) that held zeros before, against the image's raw bytes in
// `want` (random data: none of its 4 KiB blocks is zero). Its first MiB is
// zero (written last, only by a run that succeeded); every other block is
// the image's, in place, or still zero; the image's blocks on it add up to
// `reported` bytes (at least that many with `at_least`: a failed write may
// have landed in part).
void expect_reported_bytes_on(const std::string& want, const std::string& target,
                              uint64_t reported, bool at_least = false);

// Evaluates the Python expression `expr` with `d` bound to the parsed JSON
// `text` and returns what print() gives; a JSON parse error fails the test.
std::string json_query(const std::string& text, const std::string& expr);

}  // namespace qflash::test
