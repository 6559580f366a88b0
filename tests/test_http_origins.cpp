// HTTP origins and credentials (issue 11, case 1): request headers, URL
// credentials and netrc go only to the origin of the image named on the
// command line; a backing file or a redirect on another origin is refused
// unless --allow-origin names it, and gets no headers or credentials even
// then. Headers from a file, netrc, and unsupported schemes.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/http/servers.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

// dir/a/top.qcow2 over dir/b/base.qcow2 (relative, for qemu's own view),
// and dir/want.raw, the disk as qemu-img sees it.
void make_chain(const ScratchDir& dir) {
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  must("qemu-img create -q -f qcow2 " + (dir / "b/base.qcow2") + " 8M");
  must("qemu-io -f qcow2 -c 'write -P 0x21 0 5M' " + (dir / "b/base.qcow2") + " >/dev/null");
  must("qemu-img create -q -f qcow2 -b ../b/base.qcow2 -F qcow2 " + (dir / "a/top.qcow2"));
  must("qemu-io -f qcow2 -c 'write -P 0x22 1M 1M' " + (dir / "a/top.qcow2") + " >/dev/null");
  qemu_raw(dir / "a/top.qcow2", dir / "want.raw");
}

// Points a/top.qcow2's backing file at `url` (another server).
void rebase(const ScratchDir& dir, const std::string& url) {
  must("qemu-img rebase -u -f qcow2 -b " + url + " -F qcow2 " + (dir / "a/top.qcow2"));
}

// Every request line of a FaultyServer log.
std::vector<std::string> lines(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(HttpOrigins, BackingOnAnotherOriginOnlyWhenAllowedAndWithoutHeaders) {
  ScratchDir dir;
  make_chain(dir);
  ScratchDir bdir;
  FaultyServer a(dir, dir / "a", {"--require-header", "X-Token: t0k3n"});
  FaultyServer b(bdir, dir / "b");
  rebase(dir, b.url("base.qcow2"));
  std::string origin_b = b.url("").substr(0, b.url("").size() - 1);
  std::string secrets = " --header 'X-Token: t0k3n' --header 'Authorization: Bearer s3cr3t' ";

  auto refused = run(qflash_bin() + " write" + secrets + a.url("top.qcow2") + " " +
                     (dir / "got.raw"));
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find(b.url("base.qcow2") + " is on " + origin_b +
                             ", not on the image's origin"),
            std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("--allow-origin " + origin_b), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(dir / "got.raw"));
  EXPECT_EQ(b.requests(), 0) << b.log();

  auto allowed = run(qflash_bin() + " write" + secrets + "--allow-origin " + origin_b + " " +
                     a.url("top.qcow2") + " " + (dir / "got.raw"));
  ASSERT_EQ(allowed.status, 0) << allowed.err << a.log() << b.log();
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "got.raw"), -1);
  ASSERT_GT(b.requests(), 0);
  for (const auto& line : lines(b.log())) {
    EXPECT_NE(line.find("auth=no"), std::string::npos) << line;
    EXPECT_EQ(line.find("X-Token"), std::string::npos) << line;
  }
  for (const auto& line : lines(a.log())) EXPECT_NE(line.find("X-Token"), std::string::npos);
}

// A local image has no origin: its http(s) backing file is another origin.
TEST(HttpOrigins, LocalImageWithAnHttpBackingFile) {
  ScratchDir dir;
  make_chain(dir);
  FaultyServer b(dir, dir / "b");
  rebase(dir, b.url("base.qcow2"));
  std::string origin_b = b.url("").substr(0, b.url("").size() - 1);
  auto refused = run(qflash_bin() + " write --header 'X-Token: t0k3n' " + (dir / "a/top.qcow2") +
                     " " + (dir / "got.raw"));
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find(b.url("base.qcow2") + " is on " + origin_b +
                             ", the image is a local file; --allow-origin " + origin_b),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(b.requests(), 0);
  auto allowed = run(qflash_bin() + " write --header 'X-Token: t0k3n' --allow-origin " +
                     origin_b + " " + (dir / "a/top.qcow2") + " " + (dir / "got.raw"));
  ASSERT_EQ(allowed.status, 0) << allowed.err;
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "got.raw"), -1);
  for (const auto& line : lines(b.log())) EXPECT_EQ(line.find("X-Token"), std::string::npos);
}

TEST(HttpOrigins, RedirectToAnotherOriginOnlyWhenAllowedAndWithoutCredentials) {
  ScratchDir dir;
  make_chain(dir);
  fs::copy_file(dir / "b/base.qcow2", dir / "a/base.qcow2");
  must("qemu-img rebase -u -f qcow2 -b base.qcow2 -F qcow2 " + (dir / "a/top.qcow2"));
  ScratchDir bdir;
  FaultyServer b(bdir, dir / "a");
  std::string origin_b = b.url("").substr(0, b.url("").size() - 1);
  FaultyServer a(dir, dir / "a", {"--redirect-to", origin_b, "--auth", "station:pa55w0rd"});
  std::string url = a.url("redirect/top.qcow2");
  std::string with_creds = "http://station:pa55w0rd@" + url.substr(7);

  auto refused = run(qflash_bin() + " info --header 'X-Token: t0k3n' " + with_creds);
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find(url + ": redirected to " + b.url("top.qcow2") + ", which is on " +
                             origin_b),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(refused.err.find("pa55w0rd"), std::string::npos);
  EXPECT_EQ(b.requests(), 0) << b.log();

  // Allowed: the image and its backing file (relative to the URL as named,
  // so redirected too) come from b, which sees neither header nor password.
  auto allowed = run(qflash_bin() + " write --header 'X-Token: t0k3n' --allow-origin " +
                     origin_b + " " + with_creds + " " + (dir / "got.raw"));
  ASSERT_EQ(allowed.status, 0) << allowed.err << a.log() << b.log();
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "got.raw"), -1);
  ASSERT_GT(b.requests(), 0);
  for (const auto& line : lines(b.log())) {
    EXPECT_NE(line.find("auth=no"), std::string::npos) << line;
    EXPECT_EQ(line.find("X-Token"), std::string::npos) << line;
  }
  for (const auto& line : lines(a.log())) {
    EXPECT_NE(line.find("auth=yes"), std::string::npos) << line;
    EXPECT_NE(line.find("-> 302"), std::string::npos) << line;
  }
}

TEST(HttpOrigins, HeadersFromAFile) {
  ScratchDir dir;
  make_chain(dir);
  fs::copy_file(dir / "b/base.qcow2", dir / "a/base.qcow2");
  must("qemu-img rebase -u -f qcow2 -b base.qcow2 -F qcow2 " + (dir / "a/top.qcow2"));
  FaultyServer a(dir, dir / "a", {"--require-header", "X-Token: t0k3n"});
  std::ofstream(dir / "headers") << "# station token\n\nX-Token: t0k3n\r\nX-Station: 7\n";
  auto r = run(qflash_bin() + " write --header @" + (dir / "headers") + " " +
               a.url("top.qcow2") + " " + (dir / "got.raw"));
  ASSERT_EQ(r.status, 0) << r.err << a.log();
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "got.raw"), -1);
  EXPECT_NE(a.log().find("X-Station"), std::string::npos);
  // A bad line is named by number, its value never printed.
  std::ofstream(dir / "bad") << "X-Token: t0k3n\nAuthorization Bearer s3cr3t\n";
  auto bad = run(qflash_bin() + " info --header @" + (dir / "bad") + " " + a.url("top.qcow2"));
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("--header @" + (dir / "bad") + ": line 2 is not 'Name: value'"),
            std::string::npos)
      << bad.err;
  EXPECT_EQ(bad.err.find("s3cr3t"), std::string::npos);
  auto missing = run(qflash_bin() + " info --header @" + (dir / "nope") + " " + a.url("top.qcow2"));
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("No such file or directory"), std::string::npos) << missing.err;
}

// netrc entries are per host; the origin rule keeps them off another port.
TEST(HttpOrigins, NetrcOnlyForTheImagesOrigin) {
  ScratchDir dir;
  make_chain(dir);
  ScratchDir bdir;
  FaultyServer a(dir, dir / "a", {"--auth", "station:pa55w0rd"});
  FaultyServer b(bdir, dir / "b");
  rebase(dir, b.url("base.qcow2"));
  std::string origin_b = b.url("").substr(0, b.url("").size() - 1);
  std::ofstream(dir / "netrc") << "machine 127.0.0.1 login station password pa55w0rd\n";
  auto denied = run(qflash_bin() + " info " + a.url("top.qcow2"));
  EXPECT_EQ(denied.status, 1);
  EXPECT_NE(denied.err.find("HTTP 401 Unauthorized"), std::string::npos) << denied.err;
  auto r = run(qflash_bin() + " write --netrc-file " + (dir / "netrc") + " --allow-origin " +
               origin_b + " " + a.url("top.qcow2") + " " + (dir / "got.raw"));
  ASSERT_EQ(r.status, 0) << r.err << a.log() << b.log();
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "got.raw"), -1);
  EXPECT_EQ(r.err.find("pa55w0rd"), std::string::npos);
  ASSERT_GT(b.requests(), 0);
  for (const auto& line : lines(b.log())) EXPECT_NE(line.find("auth=no"), std::string::npos);
}

TEST(HttpOrigins, UnsupportedSchemesAreNamed) {
  for (const char* cmd : {"info", "map", "write"}) {
    auto r = run(qflash_bin() + " " + cmd + " ftp://user:pw@127.0.0.1/disk.qcow2" +
                 (std::string(cmd) == "write" ? " /tmp/qflash-never-written.raw" : ""));
    EXPECT_EQ(r.status, 1) << cmd;
    EXPECT_EQ(r.err, "qflash: ftp://127.0.0.1/disk.qcow2: unsupported URL scheme 'ftp' (images "
                     "are local paths or http:// and https:// URLs)\n")
        << cmd;
  }
  EXPECT_FALSE(fs::exists("/tmp/qflash-never-written.raw"));
  auto bad = run(qflash_bin() + " info --allow-origin https://cdn.example/images http://h/x");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("--allow-origin wants an origin"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace qflash::test
