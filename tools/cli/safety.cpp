#include "tools/cli/safety.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>

#include "io/base/fd.h"
#include "io/target.h"
#include "tools/cli/cli.h"

namespace qflash::cli {
namespace {

namespace fs = std::filesystem;

Error refuse(const std::string& path, const std::string& why) {
  return Error{ErrorKind::Target, path + ": " + why + "; refusing to write"};
}

fs::path sysfs_dir(dev_t rdev) {
  std::error_code ec;
  fs::path p = fs::canonical(
      "/sys/dev/block/" + std::to_string(major(rdev)) + ":" + std::to_string(minor(rdev)), ec);
  return ec ? fs::path() : p;
}

// The whole disk a partition belongs to, or the device itself.
dev_t whole_disk(dev_t rdev) {
  fs::path dir = sysfs_dir(rdev);
  if (dir.empty() || !fs::exists(dir / "partition")) return rdev;
  unsigned maj = 0, min = 0;
  char colon = 0;
  std::ifstream(dir.parent_path() / "dev") >> maj >> colon >> min;
  return colon == ':' ? makedev(maj, min) : rdev;
}

// The file behind a loop device, empty for other devices.
std::string loop_backing_file(dev_t rdev) {
  fs::path dir = sysfs_dir(rdev);
  std::string file;
  if (!dir.empty()) std::getline(std::ifstream(dir / "loop" / "backing_file"), file);
  return file;
}

// Where a target lives, to find the same target named twice.
struct Identity {
  bool block_device = false;
  bool exists = false;
  dev_t dev = 0;  // st_rdev of a device, st_dev of a file
  ino_t ino = 0;
  dev_t disk = 0;        // whole disk of a device
  std::string new_path;  // canonical name of a file still to be created
};

bool overlap(const Identity& a, const Identity& b) {
  if (a.block_device != b.block_device || a.exists != b.exists) return false;
  if (!a.exists) return a.new_path == b.new_path;
  if (!a.block_device) return a.dev == b.dev && a.ino == b.ino;
  // The same device, or a disk and one of its partitions.
  return a.dev == b.dev || a.disk == b.dev || b.disk == a.dev;
}

bool part_of_image(const Chain& chain, dev_t dev, ino_t ino) {
  for (const Source* f : chain.files())
    if (f->same_file(dev, ino)) return true;
  return false;
}

Result<Identity> identify(const Chain& chain, const std::string& path, uint64_t needed,
                          CheckedTarget& out) {
  Identity id;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return io_error("stat " + path, errno);
    std::error_code ec;
    fs::path canon = fs::weakly_canonical(fs::absolute(path), ec);
    if (ec || !fs::is_directory(canon.parent_path()))
      return refuse(path, "its directory does not exist");
    // A missing device node (a drive unplugged, a partition not yet there)
    // must not become a regular file in /dev.
    if (canon.string().starts_with("/dev/")) return refuse(path, "no such device");
    id.new_path = canon.string();
    return id;
  }
  id.exists = true;
  if (S_ISREG(st.st_mode)) {
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    if (part_of_image(chain, st.st_dev, st.st_ino))
      return refuse(path, "it is a file of the image being read");
    return id;
  }
  if (!S_ISBLK(st.st_mode)) return refuse(path, "neither a regular file nor a block device");
  id.block_device = true;
  id.dev = st.st_rdev;
  id.disk = whole_disk(st.st_rdev);
  out.block_device = true;
  if (part_of_image(chain, st.st_rdev, 0)) return refuse(path, "it is the image being read");
  if (auto backing = loop_backing_file(st.st_rdev); !backing.empty()) {
    struct stat bst;
    if (::stat(backing.c_str(), &bst) == 0 && part_of_image(chain, bst.st_dev, bst.st_ino))
      return refuse(path, "it is a loop device on " + backing + ", a file of the image");
  }
  if (auto busy = block_device_busy(path, st.st_rdev); !busy.empty())
    return Error{ErrorKind::Target, busy + "; refusing to write"};
  // Opening read-only to ask the size changes nothing on the device.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return io_error("open " + path, errno);
  if (::ioctl(fd.get(), BLKGETSIZE64, &out.size) < 0) return io_error("size of " + path, errno);
  if (out.size < needed)
    return refuse(path, "the device holds " + human_size(out.size) + " (" +
                            std::to_string(out.size) + " bytes), it must hold " +
                            human_size(needed) + " (" + std::to_string(needed) + " bytes)");
  return id;
}

}  // namespace

Result<std::vector<CheckedTarget>> check_targets(const Chain& chain,
                                                 const std::vector<std::string>& paths,
                                                 const std::vector<uint64_t>& needed) {
  std::vector<CheckedTarget> out;
  std::vector<Identity> seen;
  for (size_t n = 0; n < paths.size(); ++n) {
    const std::string& path = paths[n];
    CheckedTarget t{path};
    QF_ASSIGN(Identity id, identify(chain, path, needed[n], t));
    for (size_t i = 0; i < seen.size(); ++i)
      if (overlap(id, seen[i]))
        return refuse(path, "it is the same device or file as " + out[i].path);
    seen.push_back(std::move(id));
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace qflash::cli
