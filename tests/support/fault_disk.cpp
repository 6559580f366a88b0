#include "tests/support/fault_disk.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/support.h"

namespace qflash::test {

std::string FaultDisk::unavailable() {
  if (::geteuid() != 0) return "fault disks need root (FUSE mount, loop devices)";
  if (::access("/dev/fuse", R_OK | W_OK) != 0) return "no /dev/fuse";
  if (::access("/dev/loop-control", R_OK | W_OK) != 0) return "no loop devices";
  if (::access(QFLASH_FAULTFS_BIN, X_OK) != 0) return "qflash-faultfs is not built";
  return "";
}

FaultDisk::FaultDisk(const std::string& dir, const std::string& name, uint64_t size,
                     Faults faults)
    : backing_(dir + "/" + name + ".img"),
      mount_(dir + "/" + name + ".mnt"),
      flush_log_(faults.log_flushes ? dir + "/" + name + ".flushes" : "") {
  must("truncate -s " + std::to_string(size) + " " + quote(backing_));
  fs::create_directories(mount_);
  daemon_ = ::fork();
  if (daemon_ == 0) {
    const std::string w = std::to_string(faults.write_error_from),
                      r = std::to_string(faults.read_error_from),
                      d = std::to_string(faults.delay_ms);
    ::execl(QFLASH_FAULTFS_BIN, QFLASH_FAULTFS_BIN, backing_.c_str(), mount_.c_str(), w.c_str(),
            r.c_str(), d.c_str(), flush_log_.empty() ? nullptr : flush_log_.c_str(), nullptr);
    ::_exit(127);
  }
  // The file appears once the file system is mounted.
  const std::string disk = mount_ + "/disk";
  struct stat st;
  for (int i = 0; i < 500 && ::stat(disk.c_str(), &st) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (::stat(disk.c_str(), &st) != 0) {
    ADD_FAILURE() << "qflash-faultfs did not mount " << mount_;
    return;
  }
  CommandResult r = run("losetup --find --show " + quote(disk));
  if (r.status != 0) {
    ADD_FAILURE() << "losetup " << disk << ": " << r.err;
    return;
  }
  loop_ = r.out.substr(0, r.out.find('\n'));
}

std::vector<uint64_t> FaultDisk::flushes() const {
  std::vector<uint64_t> bytes;
  if (flush_log_.empty() || !fs::exists(flush_log_)) return bytes;
  std::ifstream in(flush_log_);
  for (uint64_t n; in >> n;) bytes.push_back(n);
  return bytes;
}

FaultDisk::~FaultDisk() {
  if (!loop_.empty()) run("losetup -d " + quote(loop_));
  if (daemon_ > 0) {
    // The loop device lets go of the file asynchronously: retry the unmount.
    for (int i = 0; i < 200 && ::umount2(mount_.c_str(), 0) != 0 && errno == EBUSY; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ::umount2(mount_.c_str(), MNT_DETACH);
    ::kill(daemon_, SIGTERM);
    ::waitpid(daemon_, nullptr, 0);
  }
}

}  // namespace qflash::test
