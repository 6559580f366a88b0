// Resource limits: few file descriptors, and io_uring denied (as with
// sysctl kernel.io_uring_disabled=2; here by seccomp, for this process only).
// Either the run succeeds byte-exact or it fails at once with one clear line.
#include <gtest/gtest.h>

#include <unistd.h>

#include "tests/support/child.h"
#include "tests/support/mass_support.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

std::string small_image(const ScratchDir& dir) {
  const std::string img = dir / "src.qcow2";
  must("qemu-img create -q -f qcow2 " + quote(img) + " 8M");
  must("qemu-io -f qcow2 -c 'write -P 0x5a 0 3M' -c 'write -c -P 0x33 4M 64k' " + quote(img));
  qemu_raw(img, dir / "want.raw");
  return img;
}

// Success with every target exact, or a failed run (expect_run_failed) naming `cause`.
void expect_exact_or_clear(const ScratchDir& dir, const ChildResult& r,
                           const std::vector<std::string>& targets, const std::string& cause) {
  ASSERT_FALSE(r.hung);
  if (r.status == 0) {
    for (const auto& t : targets) EXPECT_EQ(first_difference(dir / "want.raw", t), -1) << t;
    return;
  }
  expect_run_failed(r, {cause});
}

TEST(FaultsLimits, FewFileDescriptors) {
#ifdef __SANITIZE_ADDRESS__
  // The sanitizer runtimes need descriptors of their own (UBSan probes
  // memory through a pipe) and misreport once they are gone.
  GTEST_SKIP() << "not meaningful under the sanitizers";
#endif
  ScratchDir dir;
  const std::string img = small_image(dir);
  const bool mass = ::access(qflash_mass_bin().c_str(), X_OK) == 0;
  for (int limit : {6, 8, 10, 12, 16, 32}) {
    std::vector<std::string> targets;
    std::string args;
    for (int i = 0; i < (mass ? 8 : 1); ++i) {
      targets.push_back(dir / ("t" + std::to_string(limit) + "_" + std::to_string(i)));
      args += " " + quote(targets.back());
    }
    const std::string prog = mass ? qflash_mass_bin() : qflash_bin() + " write";
    ChildResult r = run_child("sh -c " + quote("ulimit -n " + std::to_string(limit) + " && " +
                                               "exec " + prog + " " + quote(img) + args));
    SCOPED_TRACE("ulimit -n " + std::to_string(limit) + ": exit " + std::to_string(r.status));
    expect_exact_or_clear(dir, r, targets, "open files");
  }
}

TEST(FaultsLimits, IoUringDenied) {
  ScratchDir dir;
  const std::string img = small_image(dir);
  ChildResult r = run_child(qflash_bin() + " write " + quote(img) + " " + quote(dir / "a.raw"),
                            {.deny_io_uring = true, .act = {}});
  expect_exact_or_clear(dir, r, {dir / "a.raw"}, "io_uring");
  if (::access(qflash_mass_bin().c_str(), X_OK) == 0) {
    r = run_child(qflash_mass_bin() + " " + quote(img) + " " + quote(dir / "b.raw") + " " +
                      quote(dir / "c.raw"),
                  {.deny_io_uring = true, .act = {}});
    expect_exact_or_clear(dir, r, {dir / "b.raw", dir / "c.raw"}, "io_uring");
  }
}

}  // namespace
}  // namespace qflash::test
