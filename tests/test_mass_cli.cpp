// qflash-mass and qflash write end to end on regular files: every target
// byte-exact with qemu-img convert -O raw, the --json report, options, bad
// input, a target that fails mid-run, and SIGINT/SIGTERM.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/mass_support.h"
#include "tests/support/support.h"

extern char** environ;

namespace qflash::test {
namespace {

// An image with every kind of cluster: data, compressed, zero, unallocated,
// and a virtual size that is no multiple of the cluster size.
struct ImageKind {
  const char* compression;
  uint64_t cluster;
};

void PrintTo(const ImageKind& k, std::ostream* os) { *os << k.compression << "/" << k.cluster; }

std::string make_image(const ScratchDir& dir, const ImageKind& k) {
  std::string img = dir / "disk.qcow2";
  const uint64_t c = k.cluster;
  must("qemu-img create -q -f qcow2 -o cluster_size=" + std::to_string(c) +
       ",compression_type=" + k.compression + " " + img + " " + std::to_string(8 * c + 3 * 512 + (5u << 20)));
  must("qemu-io -c 'write -P 0x5a 0 " + std::to_string(c + c / 2) + "' -c 'write -c -P 0x33 " +
       std::to_string(2 * c) + " " + std::to_string(2 * c) + "' -c 'write -z " +
       std::to_string(5 * c) + " " + std::to_string(c) + "' -c 'write -P 0x77 " +
       std::to_string(8 * c) + " 1536' " + img);
  return img;
}

class MassCli : public testing::TestWithParam<ImageKind> {};

TEST_P(MassCli, EveryTargetByteExactAndJsonReport) {
  ScratchDir dir;
  std::string img = make_image(dir, GetParam());
  qemu_raw(img, dir / "want.raw");
  const uint64_t size = fs::file_size(dir / "want.raw");
  // An old, longer target file must end up the virtual size exactly.
  write_file(dir / "t2.raw", std::vector<uint8_t>(size + 12345, 0xee));
  CommandResult r = run(qflash_mass_bin() + " --json " + img + " " + (dir / "t1.raw") + " " +
                        (dir / "t2.raw") + " " + (dir / "t3.raw"));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* t : {"t1.raw", "t2.raw", "t3.raw"})
    EXPECT_EQ(first_difference(dir / "want.raw", dir / t), -1) << t;

  EXPECT_EQ(json_query(r.out, "d['image']"), img);
  EXPECT_EQ(json_query(r.out, "d['virtual_size']"), std::to_string(size));
  EXPECT_EQ(json_query(r.out, "[t['path'] for t in d['targets']]"),
            "['" + (dir / "t1.raw") + "', '" + (dir / "t2.raw") + "', '" + (dir / "t3.raw") + "']");
  EXPECT_EQ(json_query(r.out, "[t['bytes'] == " + std::to_string(size) + " for t in d['targets']]"),
            "[True, True, True]");
  EXPECT_EQ(json_query(r.out, "{(t['status'], t['error'], t['verified']) for t in d['targets']}"),
            "{('ok', None, None)}");
  EXPECT_EQ(json_query(r.out, "all(t['seconds'] >= 0 and type(t['mb_per_s']) is float "
                              "and abs(t['mb_per_s'] - t['bytes'] / max(t['seconds'], 1e-9) / 1e6) "
                              "< 0.01 * t['mb_per_s'] + 0.01 for t in d['targets'])"),
            "True");
  EXPECT_EQ(json_query(r.out, "(d['totals']['targets'], d['totals']['ok'], d['totals']['failed'], "
                              "d['totals']['interrupted'], d['totals']['bytes'], d['exit_status'])"),
            "(3, 3, 0, 0, " + std::to_string(3 * size) + ", 0)");
  EXPECT_EQ(json_query(r.out, "d['error']"), "None");
}

INSTANTIATE_TEST_SUITE_P(Images, MassCli,
                         testing::Values(ImageKind{"zlib", 65536}, ImageKind{"zstd", 4096},
                                         ImageKind{"zlib", 512}, ImageKind{"zstd", 2u << 20}),
                         [](const auto& info) {
                           return std::string(info.param.compression) + "_" +
                                  std::to_string(info.param.cluster);
                         });

TEST(MassCliOptions, OptionsAnywhereAndDoubleDash) {
  ScratchDir dir;
  std::string img = make_image(dir, {"zlib", 65536});
  qemu_raw(img, dir / "want.raw");
  // Values both as --name=value and --name value, options after positionals,
  // and after "--" a target whose name looks like an option.
  CommandResult r = run("cd " + quote(dir.path().string()) + " && " + qflash_mass_bin() +
                        " disk.qcow2 --memory 8M a.raw --jobs=1 --queue-depth 4 --sparse -- --b.raw");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "a.raw"), -1);
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "--b.raw"), -1);
  // Without --json: one summary line per target on stderr, nothing on stdout.
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("a.raw: ok"), std::string::npos) << r.err;

  r = run(qflash_bin() + " write --json " + img + " " + (dir / "w.raw") + " --queue-depth=2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "w.raw"), -1);
  EXPECT_EQ(json_query(r.out, "d['targets'][0]['status']"), "ok");
}

TEST(MassCliOptions, SameFileTwiceAndOddNames) {
  ScratchDir dir;
  std::string img = make_image(dir, {"zstd", 65536});
  qemu_raw(img, dir / "want.raw");
  write_file(dir / "a.raw", {1, 2, 3});
  fs::create_hard_link(dir / "a.raw", dir / "hard.raw");
  CommandResult r = run(qflash_mass_bin() + " " + img + " " + (dir / "a.raw") + " " + (dir / "hard.raw"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("same device or file as"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(dir / "a.raw"), (std::vector<uint8_t>{1, 2, 3}));
  // Names JSON must escape.
  const std::string odd = dir / "q\"uote\\back\tslash.raw";
  r = run(qflash_mass_bin() + " --json " + img + " " + quote(odd));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json_query(r.out, "d['targets'][0]['path']"), odd);
  EXPECT_EQ(first_difference(dir / "want.raw", odd), -1);
}

TEST(MassCliOptions, HelpAndUsageErrors) {
  for (const std::string& cmd : {qflash_mass_bin(), qflash_bin() + " write"}) {
    CommandResult r = run(cmd + " --help");
    EXPECT_EQ(r.status, 0);
    for (const char* opt : {"--yes", "--verify", "--json", "--sparse", "--memory", "--jobs",
                            "--queue-depth", "--debug", "--help"})
      EXPECT_NE(r.out.find(opt), std::string::npos) << cmd << " lacks " << opt;
    EXPECT_EQ(run(cmd).status, 1);
    EXPECT_EQ(run(cmd + " only-an-image.qcow2").status, 1);
    EXPECT_EQ(run(cmd + " --bogus a b").status, 1);
    EXPECT_EQ(run(cmd + " --jobs=0 a b").status, 1);
    EXPECT_EQ(run(cmd + " --queue-depth=x a b").status, 1);
    EXPECT_EQ(run(cmd + " --memory=12Q a b").status, 1);
    EXPECT_EQ(run(cmd + " a b --memory").status, 1);
  }
  EXPECT_EQ(run(qflash_bin() + " write a b c").status, 1);
}

TEST(MassCliOptions, BadImageWritesNothing) {
  ScratchDir dir;
  std::string img = make_image(dir, {"zlib", 65536});
  patch_be64(img, 40, 1ull << 40);  // l1_table_offset far past the end of the file
  CommandResult r = run(qflash_mass_bin() + " --json " + img + " " + (dir / "t1.raw") + " " +
                        (dir / "t2.raw"));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(img), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "t1.raw"));
  EXPECT_FALSE(fs::exists(dir / "t2.raw"));
  // The --json report still comes, saying why.
  EXPECT_EQ(json_query(r.out, "(d['targets'], d['exit_status'], d['image'] in d['error'])"),
            "([], 1, True)");
  EXPECT_EQ(run(qflash_mass_bin() + " " + (dir / "missing.qcow2") + " " + (dir / "t1.raw")).status, 1);
  EXPECT_FALSE(fs::exists(dir / "t1.raw"));
}

// One target on a 1 MiB tmpfs runs out of space; the others finish exact.
TEST(MassCliFaults, FullTargetIsDroppedOthersFinish) {
  ScratchDir dir;
  std::string img = dir / "disk.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 8M");
  must("qemu-io -c 'write -P 0x42 0 3M' -c 'write -c -P 0x17 4M 3M' " + img);
  qemu_raw(img, dir / "want.raw");
  fs::create_directory(dir / "tiny");
  Mount tiny("none", dir / "tiny", "tmpfs", "size=1m");
  CommandResult r = run(qflash_mass_bin() + " --json --verify " + img + " " + (dir / "a.raw") + " " +
                        (dir / "tiny/full.raw") + " " + (dir / "b.raw"));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "a.raw"), -1);
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "b.raw"), -1);
  EXPECT_EQ(json_query(r.out, "[(t['status'], t['verified']) for t in d['targets']]"),
            "[('ok', True), ('failed', None), ('ok', True)]");
  EXPECT_NE(json_query(r.out, "d['targets'][1]['error']").find("No space left on device"),
            std::string::npos);
  EXPECT_LT(std::stoull(json_query(r.out, "d['targets'][1]['bytes']")), 8ull << 20);
  EXPECT_EQ(json_query(r.out, "(d['totals']['ok'], d['totals']['failed'], d['exit_status'])"),
            "(2, 1, 2)");
  EXPECT_NE(r.err.find("tiny/full.raw"), std::string::npos) << r.err;
}

// SIGINT or SIGTERM once the targets are open: the run stops, the report
// says how far each target got, the exit status is 130.
class MassCliSignal : public testing::TestWithParam<int> {};

TEST_P(MassCliSignal, StopsCleanlyAndReports) {
  ScratchDir dir;
  std::string img = dir / "big.qcow2";
  // 256 MiB of data in a small file: long enough to write that the signal
  // lands mid-run, quick to make.
  must("qemu-img create -q -f qcow2 -o compression_type=zstd " + img + " 256M");
  must("qemu-io -c 'write -c -P 0x5a 0 256M' " + img);
  fs::create_directory(dir / "mem");
  Mount mem("none", dir / "mem", "tmpfs", "size=600m");
  const std::string target = dir / "mem/t.raw";
  const std::string cmd = "exec " + qflash_mass_bin() + " --json " + img + " " + target + " " +
                          (dir / "mem/u.raw") + " >" + quote(dir / "out.json") + " 2>/dev/null";
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!fs::exists(target) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  kill(pid, GetParam());
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st)) << "killed by signal " << WTERMSIG(st);
  EXPECT_EQ(WEXITSTATUS(st), 130);
  std::vector<uint8_t> out = read_file(dir / "out.json");
  std::string json(out.begin(), out.end());
  EXPECT_EQ(json_query(json, "d['exit_status']"), "130");
  EXPECT_EQ(json_query(json, "d['totals']['interrupted'] >= 1"), "True");
  // How far each got, and what it says it got is on the target (not a
  // prefix: the engine may complete writes out of order).
  EXPECT_EQ(json_query(json, "all(t['bytes'] < (256 << 20) for t in d['targets'] "
                             "if t['status'] == 'interrupted')"),
            "True");
  const uint64_t got = std::stoull(json_query(json, "d['targets'][0]['bytes']"));
  std::vector<uint8_t> bytes = read_file(target);
  EXPECT_EQ(std::count(bytes.begin(), bytes.end(), 0x5a), long(got));
}

INSTANTIATE_TEST_SUITE_P(Signals, MassCliSignal, testing::Values(SIGINT, SIGTERM),
                         [](const auto& info) { return info.param == SIGINT ? "INT" : "TERM"; });

}  // namespace
}  // namespace qflash::test
