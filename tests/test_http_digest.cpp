// The image's SHA-256 over HTTP comes from the run's own download: the
// origin serves the file about once (not once for the run and once more for
// the digest), whatever the memory, and the digest is the file's.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/http/servers.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

TEST(HttpDigest, ImageDownloadedOnceWithItsDigest) {
  ScratchDir dir;
  fs::create_directories(dir / "www");
  const std::string raw = dir / "src.raw", img = dir / "www/disk.qcow2";
  must("dd if=/dev/urandom of=" + quote(raw) + " bs=1M count=24 iflag=fullblock status=none");
  must("qemu-img convert -q -f raw -O qcow2 " + quote(raw) + " " + quote(img));
  const std::string sha = must("sha256sum " + quote(img)).substr(0, 64);
  const std::string log = dir / "ranges.log";
  Nginx nginx(dir, dir / "www", "    access_log " + log + " ranges;", false,
              "  log_format ranges '$http_range $status $body_bytes_sent';");
  auto served = [&] {
    std::istringstream in(fs::exists(log) ? slurp(log) : "");
    uint64_t bytes = 0;
    for (std::string range, status, sent; in >> range >> status >> sent;) bytes += std::stoull(sent);
    return bytes;
  };
  // 16M: a cache of a few chunks, far less than the reads in flight.
  for (const char* memory : {"16M", "256M"}) {
    SCOPED_TRACE(memory);
    const uint64_t before = served();
    const std::string target = dir / "out.raw";
    auto r = run(qflash_bin() + " write --json --memory=" + memory + " --sha256=" + sha + " " +
                 nginx.url("disk.qcow2") + " " + quote(target));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("\"image_sha256\": \"" + sha + "\""), std::string::npos) << r.out;
    EXPECT_EQ(first_difference(raw, target), -1);
    const uint64_t bytes = served() - before;
    // The header and tables read at open may be fetched again later, and a
    // few chunks evicted before they were read (a slow machine): far less
    // than a second download.
    EXPECT_GT(bytes, fs::file_size(img) - 1);
    EXPECT_LE(bytes, fs::file_size(img) * 5 / 4) << "downloaded twice?";
  }
}

}  // namespace
}  // namespace qflash::test
