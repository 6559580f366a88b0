// Source over a local file or block device: pread, and SEEK_DATA/SEEK_HOLE
// for the allocation view.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "io/base/fd.h"
#include "io/file_source.h"
#include "io/source.h"

namespace qflash {
namespace {

class FileSource final : public Source {
 public:
  FileSource(std::string name, Fd fd, uint64_t size, struct stat st)
      : name_(std::move(name)), fd_(std::move(fd)), size_(size), st_(st) {}

  Result<size_t> read_at(std::span<uint8_t> buf, uint64_t offset) const override {
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t n = ::pread(fd_.get(), buf.data() + done, buf.size() - done, off_t(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error("read " + name_ + " at " + std::to_string(offset + done), errno);
      }
      if (n == 0) break;
      done += size_t(n);
    }
    // Short of the size seen at open: the file shrank under us. Zeros in
    // its place would be wrong bytes written silently.
    if (done < buf.size() && offset + done < size_)
      return Error{ErrorKind::Io,
                   name_ + ": ends at " + std::to_string(offset + done) + ", not at " +
                       std::to_string(size_) + " as when opened: truncated while being read"};
    return done;
  }
  Status check_unchanged() const override {
    struct stat now;
    if (::fstat(fd_.get(), &now) < 0) return io_error("stat " + name_, errno);
    if (!S_ISREG(st_.st_mode)) return {};
    if (now.st_size != st_.st_size || now.st_mtim.tv_sec != st_.st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != st_.st_mtim.tv_nsec)
      return Error{ErrorKind::Io, name_ + ": changed while being read; the targets may hold a "
                                          "mix of old and new bytes"};
    return {};
  }
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }
  int fd() const override { return fd_.get(); }
  bool same_file(dev_t dev, ino_t ino) const override {
    if (S_ISBLK(st_.st_mode)) return st_.st_rdev == dev && ino == 0;
    return st_.st_dev == dev && st_.st_ino == ino;
  }
  std::string identity() const override {
    return std::to_string(st_.st_dev) + ":" + std::to_string(st_.st_ino);
  }
  std::string resolve(const std::string& ref) const override {
    if (ref.empty() || ref[0] == '/' || is_url(ref)) return ref;
    std::filesystem::path dir = std::filesystem::path(name_).parent_path();
    return dir.empty() ? ref : (dir / ref).string();
  }
  int64_t next_data(uint64_t offset) const override {
    if (offset >= size_) return int64_t(size_);
    off_t r = ::lseek(fd_.get(), off_t(offset), SEEK_DATA);
    if (r < 0) return errno == ENXIO ? int64_t(size_) : int64_t(offset);
    return r;
  }
  int64_t next_hole(uint64_t offset) const override {
    if (offset >= size_) return int64_t(size_);
    off_t r = ::lseek(fd_.get(), off_t(offset), SEEK_HOLE);
    if (r < 0) return int64_t(size_);
    return std::min<int64_t>(r, int64_t(size_));
  }
  int64_t allocated_size() const override {
    struct stat st;
    if (::fstat(fd_.get(), &st) < 0) return -1;
    return int64_t(st.st_blocks) * 512;
  }

 private:
  std::string name_;
  Fd fd_;
  uint64_t size_;
  struct stat st_;
};

}  // namespace

Status Source::read_padded(std::span<uint8_t> buf, uint64_t offset) const {
  QF_ASSIGN(size_t n, read_at(buf, offset));
  std::fill(buf.begin() + long(n), buf.end(), uint8_t{0});
  return {};
}

Status Source::read_exact(std::span<uint8_t> buf, uint64_t offset) const {
  QF_ASSIGN(size_t n, read_at(buf, offset));
  if (n != buf.size())
    return corrupt(name() + ": " + std::to_string(buf.size()) + " bytes at offset " +
                   std::to_string(offset) + " lie past the end of the file (" +
                   std::to_string(size()) + " bytes)");
  return {};
}

bool is_url(const std::string& name) {
  return name.starts_with("http://") || name.starts_with("https://");
}

Result<SourcePtr> open_file_source(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return io_error("open " + path, errno);
  return file_source_over(path, std::move(fd));
}

Result<SourcePtr> file_source_over(const std::string& path, Fd fd) {
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return io_error("stat " + path, errno);
  uint64_t size = uint64_t(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    if (::ioctl(fd.get(), BLKGETSIZE64, &size) < 0) return io_error("size of " + path, errno);
  } else if (S_ISDIR(st.st_mode)) {
    return io_error("open " + path, EISDIR);
  }
  return SourcePtr(std::make_shared<FileSource>(path, std::move(fd), size, st));
}

}  // namespace qflash
