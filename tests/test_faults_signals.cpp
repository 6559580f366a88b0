// SIGINT and SIGTERM in the middle of a run onto a slow drive: in-flight
// writes drain, targets are flushed, the report says how far each got (and
// those bytes are right), exit 130, promptly.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <regex>

#include "tests/support/child.h"
#include "tests/support/fault_disk.h"
#include "tests/support/mass_support.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

constexpr uint64_t kMiB = 1u << 20;

// {status, bytes} of `path` in a --json report, or {"", 0}.
std::pair<std::string, uint64_t> outcome(const std::string& json, const std::string& path) {
  std::smatch m;
  std::regex re("\"path\": \"" + path + "\", \"bytes\": ([0-9]+).*\"status\": \"([a-z]+)\"");
  if (!std::regex_search(json, m, re)) return {"", 0};
  return {m[2], std::stoull(m[1])};
}

void interrupt_mid_run(int sig) {
  if (auto why = FaultDisk::unavailable(); !why.empty()) GTEST_SKIP() << why;
  if (::access(qflash_mass_bin().c_str(), X_OK) != 0) GTEST_SKIP() << "no qflash-mass";
  ScratchDir dir;
  const uint64_t mib = 48;
  const std::string raw = dir / "src.raw", img = dir / "src.qcow2", file = dir / "file.raw";
  must("dd if=/dev/urandom of=" + quote(raw) + " bs=1M count=" + std::to_string(mib) +
       " iflag=fullblock status=none");
  must("qemu-img convert -q -f raw -O qcow2 " + quote(raw) + " " + quote(img));
  FaultDisk slow(dir.path(), "slow", mib * kMiB, {.delay_ms = 30});
  ASSERT_FALSE(slow.path().empty());

  const double at = 0.8;
  ChildResult r = run_child(
      qflash_mass_bin() + " --yes --json --memory=8M " + quote(img) + " " + slow.path() + " " + quote(file),
      {.act_after = at, .act = [sig](pid_t pid) { ::kill(pid, sig); }});
  ASSERT_FALSE(r.hung);
  EXPECT_EQ(r.status, 130) << r.err;
  EXPECT_LT(r.seconds, at + 10) << "draining took too long";
  EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r.err;

  auto [status, bytes] = outcome(r.out, slow.path());
  EXPECT_EQ(status, "interrupted") << r.out;
  EXPECT_LT(bytes, mib * kMiB) << r.out;
  // What the report counts as written is on the drive, right, after its
  // first MiB, which an interrupted run zeroes (written last, never bootable
  // half written).
  expect_reported_bytes_on(raw, slow.backing(), bytes);
  auto [file_status, file_bytes] = outcome(r.out, file);
  EXPECT_TRUE(file_status == "ok" || file_status == "interrupted") << r.out;
  if (file_status == "ok") EXPECT_EQ(first_difference(raw, file), -1);
  else expect_reported_bytes_on(raw, file, file_bytes);
  std::printf("signal %d at %.1f s: exit after %.2f s, slow drive at %lu of %lu bytes\n", sig, at,
              r.seconds, (unsigned long)bytes, (unsigned long)(mib * kMiB));
}

TEST(FaultsSignals, SigintDrainsFlushesReports) { interrupt_mid_run(SIGINT); }
TEST(FaultsSignals, SigtermDrainsFlushesReports) { interrupt_mid_run(SIGTERM); }

}  // namespace
}  // namespace qflash::test
