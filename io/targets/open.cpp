// Opening targets by descriptor. A name is resolved once, with O_PATH (no
// open side effects, whatever the file is); its type and file system are
// checked on that descriptor, and the descriptor the run writes through is
// reopened from it (/proc/self/fd/N: the same inode, even if the name now
// points elsewhere).
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "io/targets/sysfs.h"
#include "io/targets/targets.h"

namespace qflash {

namespace fs = std::filesystem;

fs::path sysfs_dir(dev_t rdev) {
  std::error_code ec;
  fs::path p = fs::canonical(
      "/sys/dev/block/" + std::to_string(major(rdev)) + ":" + std::to_string(minor(rdev)), ec);
  return ec ? fs::path() : p;
}

dev_t whole_disk(dev_t rdev) {
  fs::path dir = sysfs_dir(rdev);
  if (dir.empty() || !fs::exists(dir / "partition")) return rdev;
  unsigned maj = 0, min = 0;
  char colon = 0;
  std::ifstream(dir.parent_path() / "dev") >> maj >> colon >> min;
  return colon == ':' ? makedev(maj, min) : rdev;
}

std::string sysfs_attribute(const fs::path& file) {
  std::string s;
  std::getline(std::ifstream(file), s);
  const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

namespace {

// "4 MiB", "1.5 GiB" for refusals and the prompt.
std::string human(uint64_t v) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  double d = double(v);
  while (d >= 1024 && u < 5) d /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, d == double(uint64_t(d)) ? "%.0f %s" : "%.1f %s", d, units[u]);
  return buf;
}

Error refuse(const std::string& path, const std::string& why) {
  return Error{ErrorKind::Target, path + ": " + why + "; refusing to write"};
}

std::string self_fd(const Fd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

// The file system type of `st_dev` as mountinfo names it ("devtmpfs"), or empty.
std::string fs_type(dev_t dev) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  const std::string mm = std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
  std::string line;
  while (std::getline(mountinfo, line)) {
    std::istringstream f(line);
    std::string id, parent, majmin;
    f >> id >> parent >> majmin;
    const size_t dash = line.find(" - ");
    if (majmin != mm || dash == std::string::npos) continue;
    std::istringstream rest(line.substr(dash + 3));
    std::string type;
    rest >> type;
    return type;
  }
  return {};
}

// The name of the pseudo file system `fd` lies on, or empty for a real one.
// devtmpfs reports tmpfs's magic: told apart by mountinfo.
std::string pseudo_fs(const Fd& fd) {
  struct statfs sfs;
  struct stat st;
  if (::fstatfs(fd.get(), &sfs) < 0 || ::fstat(fd.get(), &st) < 0) return {};
  switch (uint64_t(sfs.f_type)) {
    case PROC_SUPER_MAGIC: return "proc";
    case SYSFS_MAGIC: return "sysfs";
    case DEBUGFS_MAGIC: return "debugfs";
    case TRACEFS_MAGIC: return "tracefs";
    case SECURITYFS_MAGIC: return "securityfs";
    case SELINUX_MAGIC: return "selinuxfs";
    case SMACK_MAGIC: return "smackfs";
    case CGROUP_SUPER_MAGIC: return "cgroup";
    case CGROUP2_SUPER_MAGIC: return "cgroup2";
    case BPF_FS_MAGIC: return "bpf";
    case PSTOREFS_MAGIC: return "pstore";
    case EFIVARFS_MAGIC: return "efivarfs";
    case DEVPTS_SUPER_MAGIC: return "devpts";
    case BINFMTFS_MAGIC: return "binfmt_misc";
    case NSFS_MAGIC: return "nsfs";
    case 0x62656570: return "configfs";  // CONFIGFS_MAGIC, not in linux/magic.h
    case 0x65735543: return "fusectl";   // FUSE_CTL_SUPER_MAGIC, idem
    case TMPFS_MAGIC:
      return fs_type(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode) ? st.st_dev : 0) == "devtmpfs"
                 ? "devtmpfs"
                 : "";
    default: return {};
  }
}

void read_identity(Target& t) {
  const fs::path dir = sysfs_dir(t.dev);
  if (dir.empty()) return;
  t.vendor = sysfs_attribute(dir / "device" / "vendor");
  t.model = sysfs_attribute(dir / "device" / "model");
  t.serial = sysfs_attribute(dir / "device" / "serial");
  t.loop_backing = sysfs_attribute(dir / "loop" / "backing_file");
}

// 0 where the kernel (before 5.15) has no disk sequence numbers.
uint64_t disk_sequence(const Fd& fd) {
  uint64_t seq = 0;
  return ::ioctl(fd.get(), BLKGETDISKSEQ, &seq) == 0 ? seq : 0;
}

bool part_of_image(std::span<const Source* const> files, dev_t dev, ino_t ino) {
  for (const Source* f : files)
    if (f->same_file(dev, ino)) return true;
  return false;
}

bool overlap(const Target& a, const Target& b) {
  if (a.block_device != b.block_device) return false;
  const bool a_new = !a.new_name.empty(), b_new = !b.new_name.empty();
  if (a_new != b_new) return false;
  if (a_new) return a.dev == b.dev && a.ino == b.ino && a.new_name == b.new_name;
  if (!a.block_device) return a.dev == b.dev && a.ino == b.ino;
  // The same device, or a disk and one of its partitions.
  return a.dev == b.dev || whole_disk(a.dev) == b.dev || whole_disk(b.dev) == a.dev;
}

// Refused if `t` (identity filled in, nothing opened for writing yet: a
// device opened twice would refuse itself as busy) overlaps an earlier one.
Status distinct(const Target& t, std::span<const Target> earlier) {
  for (const auto& seen : earlier)
    if (overlap(t, seen)) return refuse(t.path, "it is the same device or file as " + seen.path);
  return {};
}

Result<Target> open_block_device(Target t, const struct stat& st, uint64_t needed,
                                 std::span<const Source* const> files, const Fd& path_fd,
                                 std::span<const Target> earlier) {
  t.block_device = true;
  t.dev = st.st_rdev;
  QF_TRY(distinct(t, earlier));
  if (part_of_image(files, st.st_rdev, 0)) return refuse(t.path, "it is the image being read");
  if (const std::string backing = sysfs_attribute(sysfs_dir(st.st_rdev) / "loop" / "backing_file");
      !backing.empty()) {
    struct stat bst;
    if (::stat(backing.c_str(), &bst) == 0 && part_of_image(files, bst.st_dev, bst.st_ino))
      return refuse(t.path, "it is a loop device on " + backing + ", a file of the image");
  }
  if (auto busy = block_device_busy(t.path, st.st_rdev); !busy.empty())
    return Error{ErrorKind::Target, busy + "; refusing to write"};
  // O_EXCL claims the device: it fails while the kernel holds it mounted, and
  // nothing can mount it while we hold it.
  t.fd.reset(::open(self_fd(path_fd).c_str(), O_WRONLY | O_EXCL | O_CLOEXEC));
  if (!t.fd.valid()) {
    if (errno == EBUSY) return refuse(t.path, "it is in use (claimed by the kernel or a program)");
    return io_error("open " + t.path, errno);
  }
  if (::ioctl(t.fd.get(), BLKGETSIZE64, &t.size) < 0) return io_error("size of " + t.path, errno);
  int lbs = 512;
  if (::ioctl(t.fd.get(), BLKSSZGET, &lbs) == 0 && lbs > 0) t.logical_block = uint32_t(lbs);
  t.diskseq = disk_sequence(t.fd);
  read_identity(t);
  if (t.size < needed)
    return refuse(t.path, "the device holds " + human(t.size) + " (" + std::to_string(t.size) +
                              " bytes), it must hold " + human(needed) + " (" +
                              std::to_string(needed) + " bytes)");
  return t;
}

Result<Target> open_new_file(Target t, std::span<const Target> earlier) {
  struct stat lst;
  if (::lstat(t.path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
    std::error_code ec;
    return refuse(t.path, "it is a dangling symbolic link (to " +
                              fs::read_symlink(t.path, ec).string() + ")");
  }
  const fs::path p(t.path);
  const std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  t.new_dir.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!t.new_dir.valid()) return refuse(t.path, "its directory does not exist");
  // A missing device node (a drive unplugged) must not become a file in /dev.
  if (const std::string pseudo = pseudo_fs(t.new_dir); !pseudo.empty())
    return refuse(t.path, pseudo == "devtmpfs" ? "no such device" : "its directory is on " + pseudo);
  t.new_name = p.filename().string();
  struct stat dst;
  if (::fstat(t.new_dir.get(), &dst) < 0) return io_error("stat " + dir, errno);
  t.dev = dst.st_dev;  // the directory's identity until the file exists:
  t.ino = dst.st_ino;  // two new targets overlap if they name the same entry
  QF_TRY(distinct(t, earlier));
  return t;
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

Result<Target> open_one(const TargetRequest& request, std::span<const Source* const> files,
                        std::span<const Target> earlier) {
  Target t;
  t.path = request.path;
  t.size = request.needed;
  if (t.path.empty() || t.path.back() == '/') return refuse("'" + t.path + "'", "not a file name");
  Fd path_fd(::open(t.path.c_str(), O_PATH | O_CLOEXEC));
  if (!path_fd.valid()) {
    if (errno == ENOENT) return open_new_file(std::move(t), earlier);
    return io_error("open " + t.path, errno);
  }
  struct stat st;
  if (::fstat(path_fd.get(), &st) < 0) return io_error("stat " + t.path, errno);
  if (S_ISBLK(st.st_mode))
    return open_block_device(std::move(t), st, request.needed, files, path_fd, earlier);
  if (!S_ISREG(st.st_mode)) return refuse(t.path, "neither a regular file nor a block device");
  if (const std::string pseudo = pseudo_fs(path_fd); !pseudo.empty())
    return refuse(t.path, "it lies on " + pseudo + ", a pseudo file system");
  t.dev = st.st_dev;
  t.ino = st.st_ino;
  if (part_of_image(files, st.st_dev, st.st_ino))
    return refuse(t.path, "it is a file of the image being read");
  QF_TRY(distinct(t, earlier));
  if (auto busy = file_busy(t.path, st.st_dev, st.st_ino); !busy.empty())
    return Error{ErrorKind::Target, busy + "; refusing to write"};
  t.fd.reset(::open(self_fd(path_fd).c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC));
  if (!t.fd.valid()) return io_error("open " + t.path, errno);
  QF_TRY(check_file_size(t.fd.get(), t.path, request.needed));
  return t;
}

// The O_DIRECT twin of an open target, and its alignment.
void derive_direct(Target& t) {
  t.direct.reset(::open(self_fd(t.fd).c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC));
  if (t.block_device) return;
  struct statx sx;
  if (t.direct.valid() && ::statx(t.fd.get(), "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
      (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align)
    t.logical_block = std::max(sx.stx_dio_offset_align, sx.stx_dio_mem_align);
  else
    t.logical_block = 4096;  // a safe guess; a refused O_DIRECT write falls back anyway
}

// Still the device that was shown, and still free.
Status still_the_same(const Target& t) {
  if (!t.block_device) {
    if (auto busy = file_busy(t.path, t.dev, t.ino); !busy.empty())
      return Error{ErrorKind::Target, busy + "; refusing to write"};
    return {};
  }
  uint64_t size = 0;
  if (::ioctl(t.fd.get(), BLKGETSIZE64, &size) < 0) return io_error("size of " + t.path, errno);
  const uint64_t seq = disk_sequence(t.fd);
  if (size != t.size || seq != t.diskseq)
    return refuse(t.path, "the device changed since it was checked (disk sequence " +
                              std::to_string(t.diskseq) + " -> " + std::to_string(seq) +
                              ", size " + std::to_string(t.size) + " -> " +
                              std::to_string(size) + ")");
  if (auto busy = block_device_busy(t.path, t.dev); !busy.empty())
    return Error{ErrorKind::Target, busy + "; refusing to write"};
  return {};
}

}  // namespace

Result<std::vector<Target>> open_targets(std::span<const TargetRequest> requests,
                                         std::span<const Source* const> image_files) {
  std::vector<Target> out;
  for (const auto& r : requests) {
    QF_ASSIGN(Target t, open_one(r, image_files, out));
    out.push_back(std::move(t));
  }
  return out;
}

Status ready_targets(std::span<Target> targets) {
  for (const auto& t : targets)
    if (t.new_name.empty()) QF_TRY(still_the_same(t));
  // New files last, all or none: a refusal leaves nothing behind.
  std::vector<Target*> created;
  auto undo = [&] {
    for (Target* c : created) ::unlinkat(c->new_dir.get(), c->new_name.c_str(), 0);
  };
  for (auto& t : targets) {
    if (t.new_name.empty()) continue;
    t.fd.reset(::openat(t.new_dir.get(), t.new_name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644));
    if (!t.fd.valid()) {
      const int err = errno;
      undo();
      if (err == EEXIST) return refuse(t.path, "it appeared since it was checked");
      return io_error("create " + t.path, err);
    }
    created.push_back(&t);
    if (auto fits = check_file_size(t.fd.get(), t.path, t.size); !fits) {
      undo();
      return fits;
    }
    struct stat st;
    if (::fstat(t.fd.get(), &st) == 0) {
      t.dev = st.st_dev;
      t.ino = st.st_ino;
    }
  }
  for (auto& t : targets) {
    t.new_dir.reset();
    t.new_name.clear();
    derive_direct(t);
  }
  return {};
}

std::string describe_target(const Target& t) {
  std::string out = t.path + "  " + human(t.size);
  if (!t.block_device) return out + "  regular file";
  std::string name = t.vendor;
  if (!t.model.empty()) name += (name.empty() ? "" : " ") + t.model;
  if (!name.empty()) out += "  " + name;
  if (!t.serial.empty()) out += "  serial " + t.serial;
  if (!t.loop_backing.empty()) out += "  loop device on " + t.loop_backing;
  if (t.diskseq) out += "  (disk sequence " + std::to_string(t.diskseq) + ")";
  return out;
}

Result<Target> open_target(const std::string& path, uint64_t virtual_size,
                           const TargetOptions& options) {
  const TargetRequest request{path, virtual_size};
  QF_ASSIGN(auto targets, open_targets(std::span(&request, 1), {}));
  if (targets[0].block_device && !options.allow_block_device)
    return Error{ErrorKind::Target, path + ": is a block device; pass --yes to overwrite it"};
  QF_TRY(ready_targets(targets));
  return std::move(targets[0]);
}

}  // namespace qflash
