// FaultDisk: a drive that fails or crawls on purpose, for the fault tests: a
// loop device over qflash-faultfs (tests/faultfs/) over a sparse file. Like
// device-mapper's `error` target, writes (or reads) from a byte offset on fail
// with EIO; like its `delay` target, every write can be made slow. Detached,
// unmounted and stopped at the end, also when the test fails.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace qflash::test {

struct Faults {
  int64_t write_error_from = -1;  // byte offset; -1: writes never fail
  int64_t read_error_from = -1;
  int delay_ms = 0;               // added to every write
  bool log_flushes = false;       // see flushes()
};

class FaultDisk {
 public:
  // A drive of `size` bytes whose bytes live in `dir`/`name`.img.
  FaultDisk(const std::string& dir, const std::string& name, uint64_t size, Faults faults);
  ~FaultDisk();
  FaultDisk(const FaultDisk&) = delete;
  FaultDisk& operator=(const FaultDisk&) = delete;

  // The block device; empty if it could not be made (the test has failed).
  const std::string& path() const { return loop_; }
  // The file holding the drive's bytes, to compare after the run.
  const std::string& backing() const { return backing_; }
  // With Faults::log_flushes: for each flush the drive got so far, the
  // bytes written to it before.
  std::vector<uint64_t> flushes() const;

  // Why fault disks cannot be made here (not root, no FUSE or loop), or "".
  static std::string unavailable();

 private:
  std::string backing_, mount_, loop_, flush_log_;
  pid_t daemon_ = -1;
};

}  // namespace qflash::test
