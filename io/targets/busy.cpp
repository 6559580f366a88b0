// Whether a target is in use: mounts and swaps (libmount, io/mounts.h),
// holders and the loop devices' backing files. A loop device over a target
// (or a partition of it, or a loop over that loop) with a file system
// mounted is as busy as the target mounted directly: writing under it
// destroys the file system.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include "io/mounts.h"
#include "io/targets/targets.h"
#include "io/targets/sysfs.h"

namespace qflash {
namespace {

namespace fs = std::filesystem;

// The device and every partition below it.
std::vector<dev_t> with_partitions(dev_t rdev) {
  std::vector<dev_t> out{rdev};
  fs::path dir = sysfs_dir(rdev);
  std::error_code ec;
  if (dir.empty()) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    unsigned maj = 0, min = 0;
    char colon = 0;
    if (fs::exists(entry.path() / "partition") &&
        std::ifstream(entry.path() / "dev") >> maj >> colon >> min)
      out.push_back(makedev(maj, min));
  }
  return out;
}

// Why `rdev` itself (with its partitions, not loops over it) is in use.
std::string device_in_use(const std::string& path, dev_t rdev) {
  const auto devices = with_partitions(rdev);
  if (auto mountpoint = mounted_on(devices))
    return path + " (or a partition of it) is mounted on " + *mountpoint;
  if (used_as_swap(devices)) return path + " (or a partition of it) is in use as swap";
  for (dev_t d : devices) {
    std::error_code ec;
    fs::path dir = sysfs_dir(d);
    if (!dir.empty() && !fs::is_empty(dir / "holders", ec) && !ec)
      return path + " is held by another device (LVM, RAID or dm)";
  }
  return {};
}

// Loop devices whose backing file `matches`, as {name, device number}.
template <typename Match>
std::vector<std::pair<std::string, dev_t>> loops_over(Match matches) {
  std::vector<std::pair<std::string, dev_t>> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/block", ec)) {
    std::string backing;
    if (!std::getline(std::ifstream(entry.path() / "loop" / "backing_file"), backing)) continue;
    unsigned maj = 0, min = 0;
    char colon = 0;
    if (!(std::ifstream(entry.path() / "dev") >> maj >> colon >> min)) continue;
    struct stat st;
    if (::stat(backing.c_str(), &st) == 0 && matches(st))
      out.push_back({entry.path().filename().string(), makedev(maj, min)});
  }
  return out;
}

// Follows loop devices over the `start` devices (and loops over those) and
// returns why one of them is in use, or empty.
std::string loops_in_use(const std::string& path, std::vector<dev_t> start) {
  std::vector<dev_t> seen = start;
  for (size_t depth = 0; depth < 8 && !start.empty(); ++depth) {
    std::vector<dev_t> next;
    for (const auto& [name, loop] : loops_over([&](const struct stat& st) {
           if (!S_ISBLK(st.st_mode)) return false;
           for (dev_t d : start)
             if (st.st_rdev == d || whole_disk(st.st_rdev) == d || whole_disk(d) == st.st_rdev)
               return true;
           return false;
         })) {
      if (std::find(seen.begin(), seen.end(), loop) != seen.end()) continue;
      if (auto why = device_in_use("loop device /dev/" + name + " over " + path, loop); !why.empty())
        return why;
      seen.push_back(loop);
      next.push_back(loop);
    }
    start = std::move(next);
  }
  return {};
}

}  // namespace

std::string block_device_busy(const std::string& path, dev_t rdev) {
  if (auto why = device_in_use(path, rdev); !why.empty()) return why;
  return loops_in_use(path, with_partitions(rdev));
}

std::string file_busy(const std::string& path, dev_t dev, ino_t ino) {
  std::vector<dev_t> loops;
  for (const auto& [name, loop] : loops_over([&](const struct stat& st) {
         return S_ISREG(st.st_mode) && st.st_dev == dev && st.st_ino == ino;
       })) {
    if (auto why = device_in_use("loop device /dev/" + name + " over " + path, loop); !why.empty())
      return why;
    loops.push_back(loop);
  }
  return loops.empty() ? std::string() : loops_in_use(path, loops);
}

}  // namespace qflash
