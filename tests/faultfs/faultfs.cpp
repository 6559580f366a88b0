// faultfs: a FUSE file system with one file, MOUNT/disk, that passes reads
// and writes through to BACKING but injects faults the way device-mapper's
// `error` and `delay` targets do. A loop device over MOUNT/disk makes it a
// drive. Used by the fault tests where the kernel has no device-mapper.
//
//   qflash-faultfs BACKING MOUNT WRITE_ERROR_FROM READ_ERROR_FROM DELAY_MS [FLUSH_LOG]
//
// Writes touching bytes at or past WRITE_ERROR_FROM fail with EIO, reads
// likewise from READ_ERROR_FROM (-1: never); every write first sleeps
// DELAY_MS. With FLUSH_LOG, each flush appends a line to that file: the
// bytes written until then. Runs in the foreground until MOUNT is unmounted.
#define FUSE_USE_VERSION 31
#include <fuse3/fuse.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

namespace {

struct Config {
  int fd = -1;
  long long write_error_from = -1;
  long long read_error_from = -1;
  int delay_ms = 0;
  FILE* flush_log = nullptr;
  std::mutex mu;            // FUSE calls come on several threads
  long long written = 0;    // bytes written so far
};

Config& config() { return *static_cast<Config*>(fuse_get_context()->private_data); }

bool faults(long long from, off_t off, size_t size) {
  return from >= 0 && off + static_cast<long long>(size) > from;
}

int fs_getattr(const char* path, struct stat* st, fuse_file_info*) {
  std::memset(st, 0, sizeof *st);
  if (std::strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  if (std::strcmp(path, "/disk") != 0) return -ENOENT;
  struct stat backing;
  if (::fstat(config().fd, &backing) < 0) return -errno;
  st->st_mode = S_IFREG | 0644;
  st->st_nlink = 1;
  st->st_size = backing.st_size;
  return 0;
}

int fs_readdir(const char*, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*,
               fuse_readdir_flags) {
  fill(buf, ".", nullptr, 0, fuse_fill_dir_flags{});
  fill(buf, "..", nullptr, 0, fuse_fill_dir_flags{});
  fill(buf, "disk", nullptr, 0, fuse_fill_dir_flags{});
  return 0;
}

int fs_open(const char* path, fuse_file_info* fi) {
  if (std::strcmp(path, "/disk") != 0) return -ENOENT;
  fi->direct_io = 1;  // every read and write reaches us, none is cached
  return 0;
}

int fs_read(const char*, char* buf, size_t size, off_t off, fuse_file_info*) {
  if (faults(config().read_error_from, off, size)) return -EIO;
  ssize_t n = ::pread(config().fd, buf, size, off);
  return n < 0 ? -errno : int(n);
}

int fs_write(const char*, const char* buf, size_t size, off_t off, fuse_file_info*) {
  Config& c = config();
  if (c.delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(c.delay_ms));
  if (faults(c.write_error_from, off, size)) return -EIO;
  ssize_t n = ::pwrite(c.fd, buf, size, off);
  if (n > 0) {
    std::lock_guard lk(c.mu);
    c.written += n;
  }
  return n < 0 ? -errno : int(n);
}

int fs_fsync(const char*, int, fuse_file_info*) {
  Config& c = config();
  if (::fdatasync(c.fd) < 0) return -errno;
  if (c.flush_log) {
    std::lock_guard lk(c.mu);
    std::fprintf(c.flush_log, "%lld\n", c.written);
    std::fflush(c.flush_log);
  }
  return 0;
}

int fs_truncate(const char*, off_t size, fuse_file_info*) {
  return ::ftruncate(config().fd, size) < 0 ? -errno : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr,
                 "usage: %s BACKING MOUNT WRITE_ERROR_FROM READ_ERROR_FROM DELAY_MS [FLUSH_LOG]\n",
                 argv[0]);
    return 1;
  }
  static Config cfg;
  cfg.fd = ::open(argv[1], O_RDWR | O_CLOEXEC);
  if (cfg.fd < 0) {
    std::perror(argv[1]);
    return 1;
  }
  cfg.write_error_from = std::atoll(argv[3]);
  cfg.read_error_from = std::atoll(argv[4]);
  cfg.delay_ms = std::atoi(argv[5]);
  if (argc == 7 && !(cfg.flush_log = std::fopen(argv[6], "w"))) {
    std::perror(argv[6]);
    return 1;
  }

  fuse_operations ops{};
  ops.getattr = fs_getattr;
  ops.readdir = fs_readdir;
  ops.open = fs_open;
  ops.read = fs_read;
  ops.write = fs_write;
  ops.fsync = fs_fsync;
  ops.truncate = fs_truncate;
  char* fuse_argv[] = {argv[0], const_cast<char*>("-f"), const_cast<char*>("-o"),
                       const_cast<char*>("fsname=qflash-faultfs"), argv[2], nullptr};
  return fuse_main(5, fuse_argv, &ops, &cfg);
}
