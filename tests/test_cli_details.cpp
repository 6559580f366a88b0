// CLI details a new user meets: --version and -V everywhere, -y, one
// --output=json spelling on every command (--json its alias), unsupported URL
// schemes named as such, a missing CA store named with its package, and a
// mount point with a space printed as it is (libmount, not mountinfo's \040).
#include <gtest/gtest.h>

#include "tests/support/loop_device.h"
#include "tests/support/mass_support.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

std::string make_image(const ScratchDir& dir) {
  const std::string img = dir / "disk.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 2M");
  must("qemu-io -c 'write -P 0x5a 4096 64k' " + img + " >/dev/null");
  return img;
}

TEST(CliDetails, VersionEverywhere) {
  for (const std::string& cmd :
       {qflash_bin() + " --version", qflash_bin() + " -V", qflash_mass_bin() + " -V",
        qflash_mass_bin() + " --version", qflash_bin() + " info -V", qflash_bin() + " write -V"}) {
    CommandResult r = run(cmd);
    EXPECT_EQ(r.status, 0) << cmd;
    EXPECT_EQ(r.out.rfind("qflash 0.", 0), 0u) << cmd << ": " << r.out;
  }
}

TEST(CliDetails, OutputJsonOnEveryCommandAndShortYes) {
  ScratchDir dir;
  const std::string img = make_image(dir);
  for (const char* args : {"info --output=json ", "info --json ", "map --json ",
                           "partitions --json ", "partitions --output json "}) {
    CommandResult r = run(qflash_bin() + " " + args + img);
    ASSERT_EQ(r.status, 0) << args << r.err;
    // The JSON form, not the human one (whose validity the commands' own tests check).
    ASSERT_FALSE(r.out.empty()) << args;
    EXPECT_TRUE(r.out[0] == '{' || r.out[0] == '[') << args << r.out;
  }
  for (const std::string& cmd : {qflash_bin() + " write -y --output=json " + img + " " + (dir / "a.raw"),
                                 qflash_mass_bin() + " --output json -y " + img + " " + (dir / "b.raw")}) {
    CommandResult r = run(cmd);
    ASSERT_EQ(r.status, 0) << cmd << r.err;
    EXPECT_EQ(json_query(r.out, "d['targets'][0]['status']"), "ok") << r.out;
  }
  EXPECT_EQ(run(qflash_bin() + " info --output=yaml " + img).status, 1);
}

TEST(CliDetails, UnsupportedUrlSchemeIsNamed) {
  for (const std::string& cmd : {qflash_bin() + " info ftp://user:s3cret@host/disk.qcow2",
                                 qflash_mass_bin() + " -y sftp://host/disk.qcow2 /tmp/never"}) {
    CommandResult r = run(cmd);
    EXPECT_EQ(r.status, 1) << cmd;
    EXPECT_NE(r.err.find("unsupported URL scheme"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("s3cret"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists("/tmp/never"));
}

// A machine without CA certificates (a minimal install): the CA store is
// hidden in a private mount namespace, so the machine's own stays as it is.
TEST(CliDetails, MissingCaStoreSaysWhatToInstall) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a mount namespace";
  if (run("unshare -m true").status != 0) GTEST_SKIP() << "no mount namespaces here";
  CommandResult r = run("unshare -m sh -c " +
                        quote("{ [ ! -d /etc/ssl/certs ] || mount -t tmpfs none /etc/ssl/certs; } && " +
                              qflash_bin() + " info https://127.0.0.1:1/disk.qcow2"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("apt-get install ca-certificates"), std::string::npos) << r.err;
}

TEST(CliDetails, MountPointWithASpaceIsPrintedAsItIs) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a loop device and a mount";
  ScratchDir dir;
  const std::string img = make_image(dir);
  const std::string file = dir / "fs.img";
  must("truncate -s 8M " + file + " && mkfs.ext4 -q -F " + file);
  LoopDevice loop(file);
  if (!loop.ok()) GTEST_SKIP() << "no loop device";
  const std::string mnt = dir / "USB DISK";
  fs::create_directory(mnt);
  Mount mounted(loop.path(), mnt);
  CommandResult r = run(qflash_bin() + " write -y " + img + " " + loop.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("mounted on " + mnt), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("\\040"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace qflash::test
