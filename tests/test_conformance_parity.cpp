// Images qemu reads that qflash once refused or damaged (issue 15): an
// external data file shorter than the disk, backing file names that are
// empty or cut once read as C strings, names with control characters, and
// targets their file system cannot hold.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "tests/support/refusal.h"

namespace qflash::test {
namespace {

class ShortDataFile : public ::testing::TestWithParam<const char*> {};

// qemu-img create starts the data file empty and it need not be written to
// its end: what lies past its end reads as zeros, raw or not.
TEST_P(ShortDataFile, ReadsAsZerosPastItsEnd) {
  ScratchDir dir;
  const std::string cwd = dir.path().string();
  must("cd " + quote(cwd) + " && qemu-img create -q -f qcow2 -o data_file=e.data,data_file_raw=" +
       GetParam() + " e.qcow2 4M");
  must("cd " + quote(cwd) + " && qemu-io -c 'write -P 0x21 0 100k' -c 'write -P 0x22 1M 64k' "
       "-c 'write -P 0x23 3M 4k' e.qcow2");
  // Cuts the data file inside one cluster and before others.
  fs::resize_file(dir / "e.data", 160 * 1024);
  expect_like_qemu("e.qcow2", dir, cwd);
}

TEST(ShortDataFile, EmptyAsCreated) {
  ScratchDir dir;
  const std::string cwd = dir.path().string();
  must("cd " + quote(cwd) +
       " && qemu-img create -q -f qcow2 -o data_file=e.data,data_file_raw=on e.qcow2 4M");
  // Clusters allocated (zeroed) by qemu, the data file still empty.
  must("cd " + quote(cwd) + " && qemu-io -c 'write -z 0 1M' e.qcow2");
  fs::resize_file(dir / "e.data", 0);
  expect_like_qemu("e.qcow2", dir, cwd);
}

INSTANTIATE_TEST_SUITE_P(Conformance, ShortDataFile, ::testing::Values("on", "off"));

class BackingName : public ::testing::Test {
 protected:
  void SetUp() override {
    qcow2_create(base, "2M");
    qemu_io(base, {"write -P 0x41 0 1M"});
    must("cd " + quote(dir.path()) +
         " && qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 t.qcow2 2M");
    qemu_io(top, {"write -P 0x42 512k 64k"});
    name_at = read_be64(top, 8);
    name_size = read_be32(top, 16);
    ASSERT_EQ(name_size, 7u);
  }
  ScratchDir dir;
  const std::string base = dir / "b.qcow2", top = dir / "t.qcow2";
  uint64_t name_at = 0;
  uint32_t name_size = 0;
};

// Read as a C string, a name of NUL bytes is empty: no backing file.
TEST_F(BackingName, OfNulBytesMeansNone) {
  patch_file(top, name_at, std::vector<uint8_t>(name_size, 0));
  expect_like_qemu(top, dir);
  const std::string info = must(qflash_bin() + " info " + quote(top));
  EXPECT_EQ(info.find("b.qcow2"), std::string::npos) << info;
}

// A name followed by NULs within its stored length is the name before them.
TEST_F(BackingName, EndsAtFirstNul) {
  patch_be32(top, 16, name_size + 8);
  patch_file(top, name_at + name_size, std::vector<uint8_t>(8, 0));
  expect_like_qemu(top, dir);
}

// A name with control characters is printed escaped, never raw.
TEST_F(BackingName, ControlCharactersNeverPrintedRaw) {
  const std::string name = "\x1b[2Jx\x01y";
  patch_file(top, name_at, std::vector<uint8_t>(name.begin(), name.end()));
  CommandResult r = run(qflash_bin() + " write " + quote(top) + " " + quote(dir / "out.raw"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cannot open backing file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\\x1b[2Jx\\x01y"), std::string::npos) << r.err;
  for (char c : r.err) EXPECT_TRUE(c == '\n' || (unsigned char)c >= 0x20) << r.err;
}

// A target file that cannot grow to the virtual size is refused before it
// is changed: the file keeps its bytes, a missing one is not created.
void expect_target_refused(const std::string& command_prefix, const std::string& image,
                           const ScratchDir& dir, const std::string& fault) {
  const std::string target = dir / "target.raw", missing = dir / "missing.raw";
  const std::vector<uint8_t> known(8192, 0xee);
  write_file(target, known);
  for (const std::string& t : {target, missing}) {
    CommandResult r =
        run(command_prefix + qflash_bin() + " write " + quote(image) + " " + quote(t));
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find(fault), std::string::npos) << r.err;
  }
  EXPECT_EQ(read_file(target), known) << "the target was changed";
  EXPECT_FALSE(fs::exists(missing)) << "the target was created";
}

TEST(TargetFile, LargerThanItsFileSystemHolds) {
  ScratchDir dir;
  const std::string img = dir / "big.qcow2";
  qcow2_create(img, "17T");  // past ext4's 16 TiB file limit
  qemu_io(img, {"write -P 0x51 0 64k"});
  {
    // Only a file system with such a limit shows the refusal (ext4: yes;
    // xfs, btrfs, tmpfs hold 8 EiB).
    int fd = ::open((dir / "probe").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    const bool fits = ::lseek(fd, off_t(17ull << 40), SEEK_SET) >= 0;
    ::close(fd);
    if (fits) GTEST_SKIP() << "the scratch file system holds 17 TiB files";
  }
  expect_target_refused("", img, dir, "file system cannot hold a file of 18691697672192 bytes");
}

TEST(TargetFile, OverTheFileSizeLimit) {
  ScratchDir dir;
  const std::string img = dir / "img.qcow2";
  qcow2_create(img, "8M");
  qemu_io(img, {"write -P 0x52 0 64k"});
  // 2048 blocks: 1 MiB for sh (512-byte blocks), 2 MiB for bash.
  expect_target_refused("ulimit -f 2048 && ", img, dir, "file size limit");
}

}  // namespace
}  // namespace qflash::test
