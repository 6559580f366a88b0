#include "tests/support/support.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

namespace qflash::test {

ScratchDir::ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/qflash-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

CommandResult run(const std::string& command) {
  ScratchDir dir;
  std::string out = dir / "out", err = dir / "err";
  CommandResult r;
  int st = std::system((command + " >" + quote(out) + " 2>" + quote(err) + " </dev/null").c_str());
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  auto slurp = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::string must(const std::string& command) {
  CommandResult r = run(command);
  if (r.status != 0) ADD_FAILURE() << "command failed (" << r.status << "): " << command << "\n" << r.err;
  return r.out;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string qflash_bin() { return QFLASH_BIN; }
std::string qflash_mass_bin() { return std::string(QFLASH_BIN_DIR) + "/qflash-mass"; }

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void patch_file(const std::string& path, uint64_t offset, const std::vector<uint8_t>& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), off_t(offset)), ssize_t(bytes.size()));
  ::close(fd);
}

void flip_byte(const std::string& path, uint64_t offset) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  uint8_t b = 0;
  ASSERT_EQ(::pread(fd, &b, 1, off_t(offset)), 1) << path;
  b ^= 0xff;
  ASSERT_EQ(::pwrite(fd, &b, 1, off_t(offset)), 1) << path;
  ::close(fd);
}

void patch_be32(const std::string& path, uint64_t offset, uint32_t v) {
  patch_file(path, offset, {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)});
}

void patch_be64(const std::string& path, uint64_t offset, uint64_t v) {
  patch_be32(path, offset, uint32_t(v >> 32));
  patch_be32(path, offset + 4, uint32_t(v));
}

uint64_t read_be64(const std::string& path, uint64_t offset) {
  return uint64_t(read_be32(path, offset)) << 32 | read_be32(path, offset + 4);
}

uint32_t read_be32(const std::string& path, uint64_t offset) {
  std::ifstream f(path, std::ios::binary);
  uint8_t b[4] = {};
  f.seekg(std::streamoff(offset));
  f.read(reinterpret_cast<char*>(b), 4);
  EXPECT_TRUE(f) << path << ": cannot read 4 bytes at " << offset;
  return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3];
}

void qemu_raw(const std::string& image, const std::string& raw) {
  must("qemu-img convert -O raw " + quote(image) + " " + quote(raw));
}

int64_t first_difference(const std::string& a, const std::string& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  if (!fa || !fb) return 0;
  std::array<char, 1 << 16> ba, bb;
  int64_t pos = 0;
  while (true) {
    fa.read(ba.data(), ba.size());
    fb.read(bb.data(), bb.size());
    auto na = fa.gcount(), nb = fb.gcount();
    auto n = std::min(na, nb);
    for (std::streamsize i = 0; i < n; ++i)
      if (ba[size_t(i)] != bb[size_t(i)]) return pos + i;
    if (na != nb) return pos + n;
    if (na == 0) return -1;
    pos += na;
  }
}

}  // namespace qflash::test
