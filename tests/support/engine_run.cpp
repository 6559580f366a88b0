#include "tests/support/engine_run.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/support/support.h"

namespace qflash::test {

Result<WriteReport> engine_write(const std::string& image, const std::vector<TargetSpec>& specs,
                                 const WriteOptions& options) {
  auto chain = Chain::open(image);
  if (!chain) return chain.take_error();
  QF_TRY(chain->validate());
  std::vector<WriteTarget> targets;
  for (const auto& s : specs) {
    const uint64_t length = std::min(s.length, chain->size() - s.guest_start);
    auto t = open_target(s.path, length, {.allow_block_device = true});
    if (!t) return t.take_error();
    targets.push_back({std::move(t).value(), s.guest_start, length});
  }
  return write_image(*chain, targets, options);
}

TmpfsMount::TmpfsMount(const std::string& dir, uint64_t size) : dir_(dir) {
  mounted_ = run("mount -t tmpfs -o size=" + std::to_string(size) + " qflash-test " + quote(dir)).status == 0;
}

TmpfsMount::~TmpfsMount() {
  if (mounted_) run("umount " + quote(dir_));
}

void make_mixed_raw(const std::string& path, uint64_t size) {
  must("truncate -s " + std::to_string(size) + " " + quote(path));
  auto put = [&](const std::string& from, uint64_t at, uint64_t count) {
    must("dd if=" + from + " of=" + quote(path) + " bs=512 seek=" + std::to_string(at / 512) +
         " count=" + std::to_string(count / 512) + " conv=notrunc status=none iflag=fullblock");
  };
  put("/dev/urandom", 0, std::min<uint64_t>(size, 1u << 20) & ~uint64_t(511));
  if (size > (3u << 20)) put("/bin/bash", 3u << 20, std::min<uint64_t>(size - (3u << 20), 1u << 20) & ~uint64_t(511));
  if (size >= (6u << 20)) must("qemu-io -f raw -c 'write -P 0x6b " + std::to_string(size - (1u << 20)) + " 1M' " + quote(path));
  must("qemu-io -f raw -c 'write -P 0x21 " + std::to_string((size / 2) & ~uint64_t(511)) + " 3584' " + quote(path));
}

std::vector<uint8_t> read_range(const std::string& path, uint64_t offset, uint64_t length) {
  std::vector<uint8_t> out(length);
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return {};
  ssize_t n = ::pread(fd, out.data(), length, off_t(offset));
  ::close(fd);
  out.resize(n < 0 ? 0 : size_t(n));
  return out;
}

}  // namespace qflash::test
