// Serving many stations (issue 14, part 2): Debian's nginx as the origin and
// a second nginx as a caching reverse proxy with the slice module, as the
// README's recipe configures it. Runs one after the other, and runs started
// together, through the proxy: the origin sees each 1 MiB slice once, and
// every target is exact.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <memory>
#include <sstream>

#include "tests/http/servers.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

class HttpSliceCache : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(odir_ / "www");
    fs::create_directories(pdir_ / "empty");
    must("qemu-img create -q -f qcow2 " + img_ + " 32M");
    must("qemu-io -f qcow2 -c 'write -P 0x5a 0 9M' -c 'write -P 0x11 17M 5M' -c 'write -z 24M 2M' " +
         img_ + " >/dev/null");
    qemu_raw(img_, odir_ / "want.raw");
    origin_ = std::make_unique<Nginx>(
        odir_, odir_ / "www", "    access_log " + log_ + " ranges;", false,
        "  log_format ranges '$request_uri $http_range $status $body_bytes_sent';");
    // The recipe: slices of 1 MiB cached under their own key, one fetch of
    // a slice at a time.
    std::string proxy_conf =
        "    location / {\n"
        "      slice 1m;\n"
        "      proxy_cache qflash;\n"
        "      proxy_cache_key $uri$is_args$args$slice_range;\n"
        "      proxy_set_header Range $slice_range;\n"
        "      proxy_cache_valid 200 206 1h;\n"
        "      proxy_cache_lock on;\n"
        "      proxy_cache_lock_timeout 30s;\n"
        "      proxy_http_version 1.1;\n"
        "      proxy_set_header Connection \"\";\n"
        "      proxy_pass http://127.0.0.1:" + std::to_string(origin_->port()) + ";\n"
        "    }";
    cache_ = std::make_unique<Nginx>(
        pdir_, pdir_ / "empty", proxy_conf, false,
        "  proxy_cache_path " + (pdir_ / "cache") +
            " levels=1:2 keys_zone=qflash:10m max_size=1g inactive=1h use_temp_path=off;");
  }

  // Writes the image through the proxy onto target `name`; checks it is exact.
  void flash(const std::string& name) {
    std::string target = odir_ / name;
    auto r = run(qflash_bin() + " write " + cache_->url("disk.qcow2") + " " + target);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(first_difference(odir_ / "want.raw", target), -1) << target;
  }

  std::vector<std::string> origin_requests() {
    std::istringstream in(slurp(log_));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  // Each slice fetched once, on the 1 MiB grid, never more than the file.
  void expect_each_slice_once() {
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
    EXPECT_GT(bytes, 0u);
    EXPECT_LE(bytes, fs::file_size(img_));
  }

  ScratchDir odir_, pdir_;
  std::string img_ = odir_ / "www/disk.qcow2";
  std::string log_ = odir_ / "ranges.log";
  std::unique_ptr<Nginx> origin_, cache_;
};

TEST_F(HttpSliceCache, OriginServesEachSliceOnce) {
  std::vector<size_t> after;
  for (int i = 1; i <= 3; ++i) {
    flash("t" + std::to_string(i) + ".raw");
    after.push_back(origin_requests().size());
  }
  EXPECT_EQ(after[1], after[0]) << slurp(log_);  // runs 2 and 3: all from the cache
  EXPECT_EQ(after[2], after[0]) << slurp(log_);
  expect_each_slice_once();
}

TEST_F(HttpSliceCache, StationsStartingTogetherShareEachFetch) {
  std::vector<std::future<void>> runs;
  for (int i = 1; i <= 3; ++i)
    runs.push_back(std::async(std::launch::async, [this, i] { flash("t" + std::to_string(i) + ".raw"); }));
  for (auto& r : runs) r.get();
  expect_each_slice_once();
}

}  // namespace
}  // namespace qflash::test
