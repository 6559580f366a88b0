// HTTP through proxies and broken connections (issue 14): proxies from
// --proxy and from the environment; a proxy that answers a range with 200
// and the whole file, one that answers another range, one that serves a
// different file for one slice: each fails naming the answer, and no wrong
// byte reaches a target reported ok. Ctrl-C ends a range in flight, and the
// retries against a dead server.
#include <gtest/gtest.h>

#include <signal.h>

#include "tests/http/servers.h"
#include "tests/support/child.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

// make_served_image, and dir/want.raw as qemu sees it.
std::string make_image(const ScratchDir& dir) {
  std::string img = make_served_image(dir);
  qemu_raw(img, dir / "want.raw");
  return img;
}

// Runs qflash with the environment's proxy settings as given (the test
// process sets no_proxy for its own servers).
std::string env(const std::string& vars) { return "env -u no_proxy -u NO_PROXY " + vars + " "; }

// Every byte of `got` is the image's or was never written (a hole reads 0):
// nothing foreign reached the target.
void expect_no_wrong_byte(const std::string& want, const std::string& got) {
  if (!fs::exists(got)) return;
  auto w = read_file(want), g = read_file(got);
  ASSERT_LE(g.size(), w.size());
  for (size_t i = 0; i < g.size(); ++i)
    if (g[i] != w[i] && g[i] != 0) FAIL() << got << ": a wrong byte at offset " << i;
}

TEST(HttpProxies, FromTheOptionAndFromTheEnvironment) {
  ScratchDir dir;
  make_image(dir);
  Nginx origin(dir, dir / "www");
  ScratchDir pdir;
  BadProxy proxy(pdir, {"--mode", "pass"});
  auto r = run(env("") + qflash_bin() + " write --proxy " + proxy.url() + " " +
               origin.url("disk.qcow2") + " " + (dir / "a.raw"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "a.raw"), -1);
  size_t via_option = proxy.log().size();
  EXPECT_GT(via_option, 0u);
  r = run(env("http_proxy=" + proxy.url()) + qflash_bin() + " write " + origin.url("disk.qcow2") +
          " " + (dir / "b.raw"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "b.raw"), -1);
  EXPECT_GT(proxy.log().size(), via_option);  // the environment's proxy was used
}

TEST(HttpProxies, WholeFileForARangeFailsNamingTheAnswer) {
  ScratchDir dir;
  std::string img = make_image(dir);
  Nginx origin(dir, dir / "www");
  ScratchDir pdir;
  BadProxy proxy(pdir, {"--mode", "full-200"});
  auto r = run(env("") + qflash_bin() + " write --proxy " + proxy.url() + " " +
               origin.url("disk.qcow2") + " " + (dir / "got.raw"));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "qflash: " + origin.url("disk.qcow2") +
                       ": the server (or a proxy on the way) answered a request for bytes "
                       "0-16777215 with 200 OK (the whole file, " +
                       std::to_string(fs::file_size(img)) +
                       " bytes): it does not support range requests\n");
  EXPECT_FALSE(fs::exists(dir / "got.raw"));
}

TEST(HttpProxies, AnotherRangeFailsNamingTheAnswer) {
  ScratchDir dir;
  make_image(dir);
  Nginx origin(dir, dir / "www");
  ScratchDir pdir;
  BadProxy proxy(pdir, {"--mode", "wrong-range"});
  auto r = run(env("") + qflash_bin() + " write --json --proxy " + proxy.url() + " " +
               origin.url("disk.qcow2") + " " + (dir / "got.raw"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("the server (or a proxy on the way) answered a request for bytes "),
            std::string::npos)
      << r.err << proxy.log();
  EXPECT_NE(r.err.find(" with bytes "), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("\"status\": \"ok\""), std::string::npos) << r.out;
  expect_no_wrong_byte(dir / "want.raw", dir / "got.raw");
}

// A different file under its own validators: caught as a changed image
// (a slice past the opening request's, in a file that reaches it).
TEST(HttpProxies, ForeignSliceUnderItsOwnHeadersFails) {
  ScratchDir dir;
  make_image(dir);
  must("qemu-img create -q -f qcow2 " + (dir / "other.qcow2") + " 48M");
  must("qemu-io -f qcow2 -c 'write -P 0x66 0 30M' " + (dir / "other.qcow2") + " >/dev/null");
  Nginx origin(dir, dir / "www");
  ScratchDir pdir;
  BadProxy proxy(pdir, {"--mode", "foreign", "--foreign", dir / "other.qcow2", "--slice", "20"});
  auto r = run(env("") + qflash_bin() + " write --json --proxy " + proxy.url() + " " +
               origin.url("disk.qcow2") + " " + (dir / "got.raw"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find(origin.url("disk.qcow2") +
                       ": image changed on the server during the run (size was"),
            std::string::npos)
      << r.err << proxy.log();
  EXPECT_NE(proxy.log().find("foreign bytes"), std::string::npos);
  EXPECT_EQ(r.out.find("\"status\": \"ok\""), std::string::npos) << r.out;
  expect_no_wrong_byte(dir / "want.raw", dir / "got.raw");
}

// A different file under the image's own validators: only the image's
// digest can tell. Without --sha256 (the engine's) this cannot be caught.
TEST(HttpProxies, ForeignSliceUnderTheImagesHeadersFailsTheDigest) {
  if (run(qflash_bin() + " write --help").out.find("--sha256") == std::string::npos)
    GTEST_SKIP() << "needs qflash write --sha256";
  ScratchDir dir;
  std::string img = make_image(dir);
  std::string digest = must("sha256sum " + img).substr(0, 64);
  fs::copy_file(img, dir / "other.qcow2");
  must("qemu-io -f qcow2 -c 'write -P 0x66 4M 2M' " + (dir / "other.qcow2") + " >/dev/null");
  Nginx origin(dir, dir / "www");
  ScratchDir pdir;
  BadProxy proxy(pdir, {"--mode", "foreign", "--foreign", dir / "other.qcow2", "--slice", "5",
                        "--same-headers"});
  auto r = run(env("") + qflash_bin() + " write --json --sha256 " + digest + " --proxy " +
               proxy.url() + " " + origin.url("disk.qcow2") + " " + (dir / "got.raw"));
  EXPECT_NE(r.status, 0) << r.out << r.err;
  EXPECT_NE(proxy.log().find("foreign bytes"), std::string::npos);
  EXPECT_EQ(r.out.find("\"status\": \"ok\""), std::string::npos) << r.out;
}

// `qflash write` from `server`, sent SIGINT (`after` seconds in at the
// earliest) once the server's log shows `outcome`: it must stop as
// interrupted (exit status 130) within 2.5 s of the signal.
ChildResult interrupted_when(const ScratchDir& dir, const FaultyServer& server,
                             const std::string& outcome, double after) {
  auto r = run_child(qflash_bin() + " write " + server.url("disk.qcow2") + " " + (dir / "got.raw"),
                     {.act_after = after,
                      .act = [](pid_t pid) { ::kill(pid, SIGINT); },
                      .act_when = [&] { return server.count(outcome) > 0; }});
  EXPECT_EQ(r.status, 130) << r.err << server.log();
  EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r.err;
  EXPECT_GE(r.acted_at, 0) << "never saw " << outcome << ": " << server.log();
  if (r.acted_at >= 0) {
    EXPECT_LT(r.seconds - r.acted_at, 2.5) << r.err;
  }
  return r;
}

// SIGINT while a range is in flight (the server holds its answer for 5 s):
// the transfer is cut short, and that is the run stopping (exit status
// 130), not the range failing (status 1, "bytes ...: interrupted").
TEST(HttpProxies, CtrlCDuringARangeInFlightStopsTheRun) {
  ScratchDir dir;
  make_image(dir);
  FaultyServer server(dir, dir / "www", {"--stall", "1"});
  auto r = interrupted_when(dir, server, "stalled", 0);
  EXPECT_EQ(r.err.find("bytes "), std::string::npos) << r.err;
}

// The server dies after the image's header was read: the retries would go
// on for seconds (7.75 s); SIGINT ends them at once, with the interrupted
// report.
TEST(HttpProxies, CtrlCEndsRetriesAgainstADeadServer) {
  ScratchDir dir;
  make_image(dir);
  FaultyServer server(dir, dir / "www", {"--max-requests", "2"});
  auto r = interrupted_when(dir, server, "over the request limit", 0.5);
  EXPECT_EQ(r.err.find("gave up"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace qflash::test
