// Opening targets safely: a block device is refused while it or any of its
// partitions is mounted, swapped on, or held by another driver.
#include "io/target.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include <filesystem>
#include <fstream>
#include <vector>

#include "io/mounts.h"

namespace qflash {
namespace {

namespace fs = std::filesystem;

// /sys/dev/block/MAJ:MIN, resolved to the whole disk when given a partition.
fs::path sysfs_dir(dev_t rdev) {
  std::error_code ec;
  fs::path p = fs::canonical("/sys/dev/block/" + std::to_string(major(rdev)) + ":" +
                                 std::to_string(minor(rdev)),
                             ec);
  return ec ? fs::path() : p;
}

// The device and every partition below it.
std::vector<dev_t> device_numbers(dev_t rdev) {
  std::vector<dev_t> out{rdev};
  fs::path dir = sysfs_dir(rdev);
  std::error_code ec;
  if (dir.empty()) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    unsigned maj = 0, min = 0;
    char colon = 0;
    if (fs::exists(entry.path() / "partition") &&
        std::ifstream(entry.path() / "dev") >> maj >> colon >> min && colon == ':')
      out.push_back(makedev(maj, min));
  }
  return out;
}

// Reopens the open file `fd` with O_DIRECT (through /proc, so it is the same
// inode even if the path changed); invalid where the fs refuses it (tmpfs).
Fd open_direct(const Fd& fd) {
  const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  return Fd(::open(self.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC));
}

// Whether the file behind `fd` can grow to `size` bytes, asked without
// changing it: lseek refuses offsets past its file system's largest file
// (ext4 with 4 KiB blocks: 16 TiB; FAT: 4 GiB), and RLIMIT_FSIZE would stop
// the write with SIGXFSZ half-way.
Status check_file_size(int fd, const std::string& path, uint64_t size) {
  const off_t pos = ::lseek(fd, 0, SEEK_CUR);
  if (size > uint64_t(INT64_MAX) || (::lseek(fd, off_t(size), SEEK_SET) < 0 && errno == EINVAL))
    return Error{ErrorKind::Target, path + ": its file system cannot hold a file of " +
                                        std::to_string(size) + " bytes",
                 EFBIG};
  if (pos >= 0) ::lseek(fd, pos, SEEK_SET);
  struct rlimit limit;
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      size > limit.rlim_cur)
    return Error{ErrorKind::Target, path + ": a file of " + std::to_string(size) +
                                        " bytes is over this process's file size limit (ulimit -f)",
                 EFBIG};
  return {};
}

}  // namespace

std::string block_device_busy(const std::string& path, dev_t rdev) {
  const auto numbers = device_numbers(rdev);
  if (auto mount_point = mounted_on(numbers))
    return path + " (or a partition of it) is mounted on " + *mount_point;
  if (used_as_swap(numbers)) return path + " (or a partition of it) is in use as swap";
  fs::path dir = sysfs_dir(rdev);
  std::error_code ec;
  if (!dir.empty() && !fs::is_empty(dir / "holders", ec) && !ec)
    return path + " is held by another device (LVM, RAID or dm)";
  return {};
}

bool stat_identity(const std::string& path, dev_t& dev, ino_t& ino, bool& block_device) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  block_device = S_ISBLK(st.st_mode);
  dev = block_device ? st.st_rdev : st.st_dev;
  ino = block_device ? 0 : st.st_ino;
  return true;
}

Result<Target> open_target(const std::string& path, uint64_t virtual_size,
                           const TargetOptions& options) {
  Target t;
  t.path = path;
  struct stat st;
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISBLK(st.st_mode)) {
    t.block_device = true;
    if (!options.allow_block_device)
      return Error{ErrorKind::Target, path + ": is a block device; pass --yes to overwrite it"};
    if (auto busy = block_device_busy(path, st.st_rdev); !busy.empty())
      return Error{ErrorKind::Target, busy + "; refusing to write"};
    // O_EXCL on a block device fails while the kernel holds it mounted.
    t.fd.reset(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_EXCL));
    if (!t.fd.valid()) return io_error("open " + path, errno);
    if (::ioctl(t.fd.get(), BLKGETSIZE64, &t.size) < 0) return io_error("size of " + path, errno);
    int lbs = 512;
    if (::ioctl(t.fd.get(), BLKSSZGET, &lbs) == 0 && lbs > 0) t.logical_block = uint32_t(lbs);
    if (t.size < virtual_size)
      return Error{ErrorKind::Target, path + ": device holds " + std::to_string(t.size) +
                                          " bytes, it must hold " +
                                          std::to_string(virtual_size)};
    t.dev = st.st_rdev;
    t.direct = open_direct(t.fd);
    return t;
  }
  if (exists && !S_ISREG(st.st_mode))
    return Error{ErrorKind::Target, path + ": neither a regular file nor a block device"};
  t.fd.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!t.fd.valid()) return io_error("open " + path, errno);
  if (::fstat(t.fd.get(), &st) < 0) return io_error("stat " + path, errno);
  if (auto fits = check_file_size(t.fd.get(), path, virtual_size); !fits) {
    if (!exists) ::unlink(path.c_str());  // the empty file just created
    return fits.take_error();
  }
  t.size = virtual_size;
  t.dev = st.st_dev;
  t.ino = st.st_ino;
  t.direct = open_direct(t.fd);
  struct statx sx;
  if (t.direct.valid() && ::statx(t.fd.get(), "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
      (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align)
    t.logical_block = std::max(sx.stx_dio_offset_align, sx.stx_dio_mem_align);
  else
    t.logical_block = 4096;  // a safe guess; a refused O_DIRECT write falls back anyway
  return t;
}

}  // namespace qflash
