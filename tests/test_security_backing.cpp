// Issue 11, case 2: an image must not copy station files or disks onto the
// targets through its backing or data file. A local image names only
// regular files in its own directory tree (or --backing-dir), block devices
// only with --allow-device-backing, never FIFOs or character devices; an
// http(s) image never opens a local path; --no-backing refuses them all.
// Each refusal is one line naming the file and the option that allows it,
// exit 1, nothing written; `qflash info` applies the same policy.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "tests/http/servers.h"
#include "tests/support/child.h"
#include "tests/support/loop_device.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

constexpr uint64_t kMiB = 1u << 20;

class SecurityBacking : public testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "images");
    fs::create_directories(dir_ / "station");
    // The station's secret: 1 MiB of a marker byte no image holds.
    write_file(secret_, std::vector<uint8_t>(kMiB, 0x5e));
  }

  // An overlay in images/ whose backing (or data) file is `name`, created
  // without qemu-img opening it (-u).
  std::string overlay(const std::string& file, const std::string& name, const char* fmt = "raw") {
    const std::string img = dir_ / ("images/" + file);
    must("qemu-img create -q -f qcow2 -u -b " + quote(name) + " -F " + fmt + " " + quote(img) +
         " 1M");
    return img;
  }

  // `qflash write ARGS` onto a new target: refused with one line naming
  // `named` and containing `hint`; the target is not created.
  void expect_refused(const std::string& args, const std::string& named, const std::string& hint) {
    const std::string target = dir_ / "out.raw";
    ChildOptions options;
    options.timeout = 20;
    ChildResult r = run_child(qflash_bin() + " write " + args + " " + quote(target), options);
    EXPECT_FALSE(r.hung) << args << ": hung";
    EXPECT_EQ(r.status, 1) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(named), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(hint), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(target)) << args;
    // info shows the chain with the same policy: the same refusal.
    CommandResult info = run(qflash_bin() + " info " + args);
    EXPECT_EQ(info.status, 1) << info.out;
    EXPECT_NE(info.err.find(named), std::string::npos) << info.err;
  }

  bool holds_secret(const std::string& path) {
    auto bytes = read_file(path);
    return std::find(bytes.begin(), bytes.end(), uint8_t{0x5e}) != bytes.end();
  }

  ScratchDir dir_;
  const std::string secret_ = dir_ / "station/secret.bin";
};

TEST_F(SecurityBacking, FileOutsideTheImageTreeNeedsBackingDir) {
  const std::string img = overlay("a.qcow2", secret_);
  expect_refused(quote(img), secret_, "--backing-dir");
  // A symlink in the image's directory leads outside: refused by its real path.
  fs::create_symlink(secret_, dir_ / "images/link.raw");
  expect_refused(quote(overlay("b.qcow2", "link.raw")), "link.raw", "--backing-dir");
  // Allowed by name, the file is read as qemu would.
  must(qflash_bin() + " write --backing-dir " + quote(dir_ / "station") + " " + quote(img) + " " +
       quote(dir_ / "ok.raw"));
  EXPECT_TRUE(holds_secret(dir_ / "ok.raw"));
  // Inside the image's tree no option is needed.
  fs::copy_file(secret_, dir_ / "images/base.raw");
  must(qflash_bin() + " write " + quote(overlay("c.qcow2", "base.raw")) + " " +
       quote(dir_ / "ok2.raw"));
}

TEST_F(SecurityBacking, DataFileOutsideTheImageTreeIsRefused) {
  const std::string img = dir_ / "images/ext.qcow2";
  must("qemu-img create -q -f qcow2 -o data_file=" + quote(secret_) + ",data_file_raw=on " +
       quote(img) + " 1M");
  // qemu-img create zeroed nothing: the "data" is the station's file.
  write_file(secret_, std::vector<uint8_t>(kMiB, 0x5e));
  expect_refused(quote(img), secret_, "--backing-dir");
}

TEST_F(SecurityBacking, FifoAndCharacterDevicesAreNeverOpened) {
  ASSERT_EQ(::mkfifo((dir_ / "images/fifo").c_str(), 0600), 0);
  expect_refused(quote(overlay("f.qcow2", "fifo")), "fifo", "FIFO");
  // Not even with the directory allowed (no hang, no side effect).
  expect_refused("--backing-dir /dev " + quote(overlay("z.qcow2", "/dev/zero")), "/dev/zero",
                 "character device");
}

TEST_F(SecurityBacking, BlockDevicesOnlyWithAllowDeviceBacking) {
  LoopDevice disk(secret_, {.required = true});
  ASSERT_TRUE(disk.ok());
  const std::string img = overlay("d.qcow2", disk.path());
  expect_refused(quote(img), disk.path(), "--backing-dir");
  expect_refused("--backing-dir /dev " + quote(img), disk.path(), "--allow-device-backing");
  must(qflash_bin() + " write --backing-dir /dev --allow-device-backing " + quote(img) + " " +
       quote(dir_ / "ok.raw"));
  EXPECT_TRUE(holds_secret(dir_ / "ok.raw"));
}

TEST_F(SecurityBacking, NoBackingRefusesEveryReference) {
  fs::copy_file(secret_, dir_ / "images/base.raw");
  expect_refused("--no-backing " + quote(overlay("n.qcow2", "base.raw")), "base.raw",
                 "--no-backing");
}

// An http(s) image never opens a local path: not an absolute backing name,
// not a relative data file the current directory happens to hold.
TEST_F(SecurityBacking, HttpImageNeverOpensLocalFiles) {
  fs::create_directories(dir_ / "www");
  must("qemu-img create -q -f qcow2 -u -b " + quote(secret_) + " -F raw " +
       quote(dir_ / "www/abs.qcow2") + " 1M");
  const std::string cwd = dir_ / "cwd";
  fs::create_directories(cwd);
  must("cd " + quote(cwd) + " && qemu-img create -q -f qcow2 -o data_file=e.data " +
       quote(dir_ / "www/rel.qcow2") + " 1M");
  write_file(cwd + "/e.data", std::vector<uint8_t>(kMiB, 0x5e));  // in the cwd only
  Nginx nginx(dir_, dir_ / "www");
  for (const std::string name : {"abs.qcow2", "rel.qcow2"}) {
    SCOPED_TRACE(name);
    CommandResult r = run("cd " + quote(cwd) + " && " + qflash_bin() + " write --backing-dir / " +
                          nginx.url(name) + " " + quote(dir_ / "out.raw"));
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "out.raw"));
    if (name == "abs.qcow2")
      EXPECT_NE(r.err.find("an http(s) image never opens a local file"), std::string::npos) << r.err;
    else  // looked for beside the image on the server (404), never in the cwd
      EXPECT_NE(r.err.find(nginx.url("e.data")), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace qflash::test
