// Safety of the write path on loop devices: block devices only with --yes or
// a typed "yes", never while mounted (or a partition is), never twice, never
// the image itself, never too small; a refusal writes nothing anywhere.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/child.h"
#include "tests/support/loop_device.h"
#include "tests/support/mass_support.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

constexpr uint64_t kImageSize = 4u << 20;

// The first partition (sectors 2048..18431, as sgdisk -n 1:2048:+8M makes
// it) of a loop device attached with -P, as a device node. A kernel without
// partition table parsers gets it by hand (addpart, BLKPG); empty if even
// that fails (then the test skips).
std::string first_partition(const ScratchDir& dir, const std::string& loop) {
  const std::string name = fs::path(loop).filename().string() + "p1";
  const fs::path sys = fs::path("/sys/class/block") / name / "dev";
  auto appears = [&] {
    for (int i = 0; i < 50 && !fs::exists(sys); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return fs::exists(sys);
  };
  if (!appears() && (run("addpart " + quote(loop) + " 1 2048 16384").status != 0 || !appears()))
    return {};
  unsigned maj = 0, min = 0;
  char colon = 0;
  if (!(std::ifstream(sys) >> maj >> colon >> min)) return {};
  if (fs::exists("/dev/" + name)) return "/dev/" + name;
  const std::string node = dir / name;  // no devtmpfs node: make our own
  must("mknod " + quote(node) + " b " + std::to_string(maj) + " " + std::to_string(min));
  return node;
}

class Safety : public testing::Test {
 protected:
  void SetUp() override {
    img_ = dir_ / "disk.qcow2";
    must("qemu-img create -q -f qcow2 " + img_ + " 4M");
    must("qemu-io -c 'write -P 0x6b 0 1M' -c 'write -c -P 0x3c 2M 1M' " + img_);
    qemu_raw(img_, dir_ / "want.raw");
  }

  // A file of `size` bytes of 0xff, so zeros written over it show.
  std::string device_file(const std::string& name, uint64_t size) {
    write_file(dir_ / name, std::vector<uint8_t>(size, 0xff));
    return dir_ / name;
  }

  // Whether the first kImageSize bytes of `device` are the image's.
  bool holds_image(const std::string& device) {
    return run("cmp -n " + std::to_string(kImageSize) + " " + quote(dir_ / "want.raw") + " " +
               quote(device))
               .status == 0;
  }

  bool untouched(const std::string& device) {
    std::vector<uint8_t> bytes = read_file(device);
    return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0xff; });
  }

  CommandResult mass(const std::string& args) { return run(qflash_mass_bin() + " " + args); }

  ScratchDir dir_;
  std::string img_;
};

TEST_F(Safety, WritesLoopDeviceWithYesAndVerifies) {
  LoopDevice loop(device_file("dev.img", 8u << 20), {.required = true});
  ASSERT_FALSE(loop.path().empty());
  CommandResult r = mass("--yes --verify --json " + img_ + " " + loop.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(holds_image(loop.path()));
  EXPECT_EQ(json_query(r.out, "(d['targets'][0]['status'], d['targets'][0]['verified'], "
                              "d['targets'][0]['bytes'])"),
            "('ok', True, " + std::to_string(kImageSize) + ")");
  // The rest of the device is left alone.
  std::vector<uint8_t> bytes = read_file(dir_ / "dev.img");
  EXPECT_TRUE(std::all_of(bytes.begin() + kImageSize, bytes.end(), [](uint8_t b) { return b == 0xff; }));
}

// Zeros are written to a device by default (an exact copy); --sparse leaves
// what was there (for pre-zeroed drives).
TEST_F(Safety, SparseLeavesZeroRegionsOfDevices) {
  const std::string img = dir_ / "zeros.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 12M");
  must("qemu-io -c 'write -P 0x6b 0 1M' -c 'write -z 4M 1M' " + img);
  LoopDevice exact(device_file("exact.img", 16u << 20), {.required = true});
  LoopDevice sparse(device_file("sparse.img", 16u << 20), {.required = true});
  CommandResult r = run(qflash_bin() + " write --yes " + img + " " + exact.path());
  ASSERT_EQ(r.status, 0) << r.err;
  r = mass("--yes --sparse " + img + " " + sparse.path());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<uint8_t> a = read_file(dir_ / "exact.img"), b = read_file(dir_ / "sparse.img");
  for (const auto* bytes : {&a, &b})
    EXPECT_EQ(std::count(bytes->begin(), bytes->begin() + (1 << 20), 0x6b), 1 << 20);
  EXPECT_EQ(std::count(a.begin() + (1 << 20), a.begin() + (12 << 20), 0), 11 << 20);
  EXPECT_EQ(std::count(b.begin() + (8 << 20), b.begin() + (12 << 20), 0xff), 4 << 20);
}

TEST_F(Safety, BlockDeviceWithoutYesAndNoTerminalIsRefused) {
  LoopDevice loop(device_file("dev.img", 8u << 20), {.required = true});
  CommandResult r = mass(img_ + " " + loop.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--yes"), std::string::npos) << r.err;
  EXPECT_TRUE(untouched(dir_ / "dev.img"));
  r = run(qflash_bin() + " write " + img_ + " " + loop.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(untouched(dir_ / "dev.img"));
}

// On a terminal (a pseudo-terminal here) the devices are listed and only a
// typed "yes" goes on.
TEST_F(Safety, TerminalConfirmation) {
  LoopDevice loop(device_file("dev.img", 8u << 20), {.required = true});
  const std::vector<std::string> argv{qflash_mass_bin(), img_, loop.path()};
  CommandResult r = run_on_terminal(argv, "Type 'yes'", "no\n");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find(loop.path() + "  8 MiB"), std::string::npos) << r.out;
  EXPECT_TRUE(untouched(dir_ / "dev.img"));
  r = run_on_terminal(argv, "Type 'yes'", "yes\n");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(holds_image(loop.path()));
  // On a terminal the progress is drawn, with the total ETA and rate.
  EXPECT_NE(r.out.find("4 MiB / 4 MiB  100%"), std::string::npos) << r.out;
}

TEST_F(Safety, MountedDeviceIsRefused) {
  std::string file = device_file("fs.img", 8u << 20);
  must("mkfs.ext4 -q -F " + quote(file));
  LoopDevice loop(file, {.required = true});
  fs::create_directory(dir_ / "mnt");
  Mount mnt(loop.path(), dir_ / "mnt");
  CommandResult r = mass("--yes " + img_ + " " + loop.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("mounted"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "mnt/lost+found"));
}

TEST_F(Safety, DiskWithMountedPartitionIsRefused) {
  std::string file = device_file("disk.img", 16u << 20);
  must("sgdisk -q -n 1:2048:+8M " + quote(file));
  LoopDevice loop(file, {.partitions = true, .required = true});
  ASSERT_FALSE(loop.path().empty());
  const std::string part = first_partition(dir_, loop.path());
  if (part.empty()) GTEST_SKIP() << "this kernel reads no partition tables";
  must("mkfs.ext4 -q -F " + part);
  fs::create_directory(dir_ / "mnt");
  Mount mnt(part, dir_ / "mnt");
  for (const std::string& target : {loop.path(), part}) {
    CommandResult r = mass("--yes " + img_ + " " + target);
    EXPECT_EQ(r.status, 1) << target;
    EXPECT_NE(r.err.find("mounted"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(fs::exists(dir_ / "mnt/lost+found"));
}

TEST_F(Safety, SameDeviceTwiceIsRefused) {
  std::string file = device_file("disk.img", 16u << 20);
  must("sgdisk -q -n 1:2048:+8M " + quote(file));
  LoopDevice loop(file, {.partitions = true, .required = true});
  ASSERT_FALSE(loop.path().empty());
  fs::create_symlink(loop.path(), dir_ / "link");
  const std::vector<uint8_t> before = read_file(file);
  std::vector<std::string> pairs{loop.path() + " " + (dir_ / "link")};
  // A disk and one of its partitions overlap too (where the kernel has them).
  if (const std::string part = first_partition(dir_, loop.path()); !part.empty())
    pairs.insert(pairs.end(), {loop.path() + " " + part, part + " " + loop.path()});
  for (const std::string& pair : pairs) {
    CommandResult r = mass("--yes " + img_ + " " + (dir_ / "ok.raw") + " " + pair);
    EXPECT_EQ(r.status, 1) << pair;
    EXPECT_NE(r.err.find("same device"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(read_file(file) == before);
  EXPECT_FALSE(fs::exists(dir_ / "ok.raw")) << "a refusal writes nothing anywhere";
}

TEST_F(Safety, MissingDeviceIsNotCreated) {
  CommandResult r = mass("--yes " + img_ + " /dev/qflash-test-no-such-device");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no such device"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists("/dev/qflash-test-no-such-device"));
}

TEST_F(Safety, SmallDeviceIsRefused) {
  LoopDevice loop(device_file("small.img", 2u << 20), {.required = true});
  CommandResult r = mass("--yes " + img_ + " " + loop.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("it must hold 4 MiB"), std::string::npos) << r.err;
  EXPECT_TRUE(untouched(dir_ / "small.img"));
}

TEST_F(Safety, ImageFilesAreRefused) {
  const std::string base = dir_ / "base.qcow2", top = dir_ / "top.qcow2", data = dir_ / "data.bin",
                    ext = dir_ / "ext.qcow2";
  must("qemu-img create -q -f qcow2 " + base + " 4M");
  must("qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 " + top);
  must("qemu-img create -q -f qcow2 -o data_file=" + data + " " + ext + " 4M");
  fs::create_symlink(base, dir_ / "base-link");
  const std::string cases[][2] = {{top, top}, {top, base}, {top, dir_ / "base-link"}, {ext, data}};
  for (const auto& [image, target] : cases) {
    const auto before = fs::last_write_time(target);
    CommandResult r = mass("--yes " + image + " " + target);
    EXPECT_EQ(r.status, 1) << image << " onto " << target;
    EXPECT_NE(r.err.find("file of the image"), std::string::npos) << r.err;
    EXPECT_EQ(fs::last_write_time(target), before);
  }
  // A loop device over a backing file is that file too.
  LoopDevice loop(base, {.required = true});
  CommandResult r = mass("--yes " + top + " " + loop.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("loop device on"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace qflash::test
