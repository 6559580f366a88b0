// DeviceMonitor: drives as they come and go. Wakes on the kernel's uevents
// (a NETLINK_KOBJECT_UEVENT socket, so no udevd is needed) and also reads
// the size of every whole disk at least every 250 ms: a device that grows
// from 0 bytes to a size (a card put into a reader, a loop device given a
// file) is an insertion, one that shrinks to 0 or vanishes a removal, and a
// new size or disk sequence number both.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/base/fd.h"

namespace qflash {

struct DeviceChange {
  enum Kind { Inserted, Removed } kind;
  std::string name;  // kernel name of the whole disk
  uint64_t size = 0; // bytes, of an inserted drive
};

class DeviceMonitor {
 public:
  // Opens the uevent socket; without one (no permission, no netlink in a
  // container) the monitor polls sizes alone, which still reacts in 250 ms.
  DeviceMonitor();

  // Waits at most `timeout_ms` for a uevent, then compares every disk's size
  // with the last call. The first call reports every disk present with a
  // size as inserted.
  std::vector<DeviceChange> wait(int timeout_ms);

  bool uevents() const { return sock_.valid(); }

 private:
  struct Medium {
    uint64_t size = 0;     // bytes
    uint64_t diskseq = 0;  // 0 where the kernel has none (before 5.15)
    bool operator==(const Medium&) const = default;
  };
  Fd sock_;
  std::map<std::string, Medium> media_;  // disks with a size, by name
};

}  // namespace qflash
