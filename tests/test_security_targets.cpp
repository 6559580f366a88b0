// Issue 11, cases 3 and 7: targets are opened once, checked through their
// descriptors and written (and verified) through them. A loop device over a
// target with a mounted file system makes the target busy; swapping a
// target's name during the prompt changes nothing that is written; dangling
// symlinks, files on proc or devtmpfs and character devices are refused.
#include <gtest/gtest.h>


#include <fstream>
#include <functional>

#include "io/targets/targets.h"
#include "tests/support/child.h"
#include "tests/support/loop_device.h"
#include "tests/support/mass_support.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

constexpr uint64_t kMiB = 1u << 20;

class SecurityTargets : public testing::Test {
 protected:
  void SetUp() override {
    img_ = dir_ / "disk.qcow2";
    must("qemu-img create -q -f qcow2 " + img_ + " 4M");
    must("qemu-io -c 'write -P 0x6b 0 1M' -c 'write -c -P 0x3c 2M 1M' " + img_);
    qemu_raw(img_, dir_ / "want.raw");
    image_bytes_ = read_file(img_);
  }

  // A file of `size` bytes of 0xff (a station disk's marker), so any write shows.
  std::string marker(const std::string& name, uint64_t size = 16 * kMiB) {
    write_file(dir_ / name, std::vector<uint8_t>(size, 0xff));
    return dir_ / name;
  }
  bool untouched(const std::string& path) {
    auto b = read_file(path);
    return std::all_of(b.begin(), b.end(), [](uint8_t c) { return c == 0xff; });
  }
  bool holds_image(const std::string& path) {
    return run("cmp -n " + std::to_string(4 * kMiB) + " " + quote(dir_ / "want.raw") + " " +
               quote(path)).status == 0;
  }
  CommandResult mass(const std::string& args) { return run(qflash_mass_bin() + " " + args); }

  ScratchDir dir_;
  std::string img_;
  std::vector<uint8_t> image_bytes_;
};

// Case 3: `mount -o loop /dev/sdb`-style. The station disk is a loop device
// over a marker file; a second loop device over the first holds a mounted
// file system. Writing the disk would destroy it: refused.
TEST_F(SecurityTargets, LoopOverTheTargetWithAMountedFileSystemIsBusy) {
  LoopDevice disk(marker("disk.img"), {.required = true});
  ASSERT_TRUE(disk.ok());
  LoopDevice over(disk.path(), {.required = true});
  ASSERT_TRUE(over.ok());
  must("mkfs.ext4 -q -F " + over.path());
  fs::create_directory(dir_ / "mnt");
  Mount mnt(over.path(), dir_ / "mnt");
  CommandResult r = mass("--yes " + img_ + " " + disk.path());
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("loop device " + over.path() + " over " + disk.path()), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("mounted"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "mnt/lost+found"));

  // The same for a regular file holding a mounted file system.
  const std::string fsfile = marker("fs.img");
  must("mkfs.ext4 -q -F " + quote(fsfile));
  LoopDevice loop(fsfile, {.required = true});
  fs::create_directory(dir_ / "mnt2");
  Mount mnt2(loop.path(), dir_ / "mnt2");
  r = mass("--yes " + img_ + " " + quote(fsfile));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("mounted"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "mnt2/lost+found"));
}

// Case 7: the file target named at the prompt is replaced by a symlink to
// the image while the operator reads the prompt. The file that was checked
// is written; the image is untouched.
TEST_F(SecurityTargets, NameSwappedForTheImageDuringThePromptChangesNothing) {
  LoopDevice disk(marker("disk.img"), {.required = true});
  const std::string file = marker("file.raw", 4 * kMiB);
  const std::vector<std::string> argv = {qflash_mass_bin(), img_, disk.path(), file};
  CommandResult r = run_on_terminal(argv, "Type 'yes'", "yes\n", [&] {
    fs::rename(file, dir_ / "kept.raw");
    fs::create_symlink(img_, file);
  });
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(read_file(img_) == image_bytes_) << "the image was overwritten";
  EXPECT_TRUE(holds_image(dir_ / "kept.raw"));
  EXPECT_TRUE(holds_image(disk.path()));
}

// Case 7: the confirmed loop device is detached and attached to another
// file during the prompt. The descriptor held since the check keeps the
// device (the kernel refuses the re-attach, or qflash sees the new disk
// sequence): the other file is never written.
TEST_F(SecurityTargets, LoopReattachedDuringThePromptNeverWritesTheOtherFile) {
  const std::string confirmed = marker("confirmed.img"), other = marker("other.img");
  // Not a LoopDevice: the attack detaches it, so the end may find it gone.
  const std::string shown = must("losetup -f --show " + quote(confirmed));
  const std::string loop = shown.substr(0, shown.find('\n'));
  ASSERT_TRUE(loop.starts_with("/dev/loop")) << shown;
  CommandResult reattach;
  const std::vector<std::string> argv = {qflash_mass_bin(), "--verify", img_, loop};
  CommandResult r = run_on_terminal(argv, "Type 'yes'", "yes\n", [&] {
    run("losetup -d " + loop);
    reattach = run("losetup " + loop + " " + quote(other));
  });
  EXPECT_TRUE(untouched(other)) << r.out;
  if (r.status == 0) EXPECT_TRUE(holds_image(confirmed)) << r.out;
  else EXPECT_NE(r.out.find("changed since it was checked"), std::string::npos) << r.out;
  std::printf("re-attach during the prompt: %s; qflash exit %d\n",
              reattach.status == 0 ? "accepted by the kernel" : "refused by the kernel (busy)",
              r.status);
  // Detached only if still ours: once qflash closed it, the kernel may have
  // detached it and another test attached the number to its own file.
  const std::string backing = "/sys/block/" + loop.substr(5) + "/loop/backing_file";
  for (int i = 0; i < 2; ++i) {
    std::string file;
    std::getline(std::ifstream(backing), file);
    if (file != confirmed && file != other) break;
    run("losetup -d " + loop);
  }
}

// Case 7: names that are no drive and no image file.
TEST_F(SecurityTargets, PseudoFilesDanglingLinksAndDevicesAreRefused) {
  const std::string stale = "/dev/qflash-test-stale-" + std::to_string(::getpid());
  write_file(stale, std::vector<uint8_t>(4096, 0xff));
  const std::string missing = "/dev/qflash-test-missing-" + std::to_string(::getpid());
  fs::create_symlink(missing, dir_ / "dangling");
  const std::string domain = must("cat /proc/sys/kernel/domainname");
  const std::pair<std::string, std::string> cases[] = {
      {"/proc/sys/kernel/domainname", "pseudo file system"},
      {"/proc/self/mem", "pseudo file system"},
      {stale, "devtmpfs"},
      {dir_ / "dangling", "dangling symbolic link"},
      {"/dev/null", "neither a regular file nor a block device"},
  };
  for (const auto& [target, why] : cases) {
    CommandResult r = mass("--yes " + img_ + " " + quote(target));
    EXPECT_EQ(r.status, 1) << target;
    EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
  }
  EXPECT_EQ(must("cat /proc/sys/kernel/domainname"), domain);
  EXPECT_TRUE(untouched(stale));
  EXPECT_FALSE(fs::exists(missing));
  fs::remove(stale);
}

// The library's two steps (io/targets): a new file is created only by
// ready_targets, exclusively; one planted at its name meanwhile (a symlink
// to the image, say) makes the run refused, and files it had already
// created for other targets are removed again.
TEST(SecurityTargetsLibrary, NewFilesAreCreatedExclusivelyAfterTheQuestion) {
  ScratchDir dir;
  const std::string a = dir / "a.raw", b = dir / "b.raw";
  const TargetRequest requests[] = {{a, 4096}, {b, 4096}};
  auto opened = open_targets(requests, {});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_FALSE(fs::exists(a)) << "created before the question";
  write_file(dir / "image", std::vector<uint8_t>(4096, 0x42));
  fs::create_symlink(dir / "image", b);
  Status st = ready_targets(*opened);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("b.raw: it appeared since it was checked"), std::string::npos)
      << st.error().message;
  EXPECT_FALSE(fs::exists(a)) << "a refusal leaves nothing behind";
  EXPECT_EQ(read_file(dir / "image"), std::vector<uint8_t>(4096, 0x42));

  // Without the plant both are created, held open, and written through.
  fs::remove(b);
  opened = open_targets(requests, {});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  ASSERT_TRUE(ready_targets(*opened).ok());
  for (const auto& t : *opened) {
    EXPECT_TRUE(t.fd.valid());
    EXPECT_EQ(::pwrite(t.fd.get(), "x", 1, 0), 1);
  }
  EXPECT_EQ(read_file(a), std::vector<uint8_t>{'x'});
}

}  // namespace
}  // namespace qflash::test
