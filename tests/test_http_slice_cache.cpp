// Serving many stations (issue 14, part 2): Debian's nginx as the origin and
// a second nginx as a caching reverse proxy with the slice module, as the
// README's recipe configures it. Three runs one after the other through the
// proxy: the origin sees each 1 MiB slice at most once (the first run), and
// every target is exact.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "tests/http/servers.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

TEST(HttpSliceCache, OriginServesEachSliceOnce) {
  ScratchDir odir, pdir;
  fs::create_directories(odir / "www");
  fs::create_directories(pdir / "empty");
  std::string img = odir / "www/disk.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 32M");
  must("qemu-io -f qcow2 -c 'write -P 0x5a 0 9M' -c 'write -P 0x11 17M 5M' -c 'write -z 24M 2M' " +
       img + " >/dev/null");
  qemu_raw(img, odir / "want.raw");
  std::string ranges_log = odir / "ranges.log";
  Nginx origin(odir, odir / "www", "    access_log " + ranges_log + " ranges;", false,
               "  log_format ranges '$request_uri $http_range $status $body_bytes_sent';");
  // The recipe: slices of 1 MiB cached under their own key.
  std::string proxy_conf =
      "    location / {\n"
      "      slice 1m;\n"
      "      proxy_cache qflash;\n"
      "      proxy_cache_key $uri$is_args$args$slice_range;\n"
      "      proxy_set_header Range $slice_range;\n"
      "      proxy_cache_valid 200 206 1h;\n"
      "      proxy_http_version 1.1;\n"
      "      proxy_set_header Connection \"\";\n"
      "      proxy_pass http://127.0.0.1:" + std::to_string(origin.port()) + ";\n"
      "    }";
  Nginx cache(pdir, pdir / "empty", proxy_conf, false,
              "  proxy_cache_path " + (pdir / "cache") +
                  " levels=1:2 keys_zone=qflash:10m max_size=1g inactive=1h use_temp_path=off;");

  auto origin_requests = [&] {
    std::istringstream in(slurp(ranges_log));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  };
  std::vector<size_t> after;
  for (int i = 1; i <= 3; ++i) {
    std::string target = odir / ("t" + std::to_string(i) + ".raw");
    auto r = run(qflash_bin() + " write " + cache.url("disk.qcow2") + " " + target);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(first_difference(odir / "want.raw", target), -1) << target;
    after.push_back(origin_requests().size());
  }
  EXPECT_GT(after[0], 0u);
  EXPECT_EQ(after[1], after[0]) << slurp(ranges_log);  // runs 2 and 3: all from the cache
  EXPECT_EQ(after[2], after[0]) << slurp(ranges_log);
  // Each slice fetched once, on the 1 MiB grid, never more than the file.
  std::map<std::string, int> seen;
  uint64_t bytes = 0;
  for (const auto& line : origin_requests()) {
    std::istringstream f(line);
    std::string uri, range, status, sent;
    f >> uri >> range >> status >> sent;
    EXPECT_EQ(status, "206") << line;
    EXPECT_EQ(++seen[range], 1) << "fetched twice: " << line;
    uint64_t first = std::stoull(range.substr(6));
    EXPECT_EQ(first % (1 << 20), 0u) << line;
    bytes += std::stoull(sent);
  }
  EXPECT_LE(bytes, fs::file_size(img));
}

}  // namespace
}  // namespace qflash::test
