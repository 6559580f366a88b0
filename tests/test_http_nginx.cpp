// Every command from a URL, against Debian's nginx on 127.0.0.1: bytes,
// info and map compared with qemu-img on the same files read locally.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "io/http/http_source.h"
#include "tests/http/servers.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

std::vector<uint8_t> noise(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = uint8_t(rng());
  return v;
}

// Images made at test time under dir/www: plain, deflate- and
// zstd-compressed, small clusters, over a raw backing file, and a backing
// chain in two folders with relative names.
std::vector<std::string> make_corpus(const ScratchDir& dir) {
  std::string www = dir / "www";
  fs::create_directories(www + "/chain/top");
  auto io = [](const std::string& img, const std::string& cmds) {
    must("qemu-io -f qcow2 " + cmds + " " + quote(img) + " >/dev/null");
  };
  must("qemu-img create -q -f qcow2 " + www + "/plain.qcow2 24M");
  io(www + "/plain.qcow2",
     "-c 'write -P 0x5a 0 3M' -c 'write -P 0x11 9M 1536k' -c 'write -z 20M 1M'");
  write_file(www + "/noise.raw", noise(6 << 20, 1));
  must("qemu-img convert -q -c -f raw -O qcow2 " + www + "/noise.raw " + www + "/deflate.qcow2");
  must("qemu-img create -q -f qcow2 -b noise.raw -F raw " + www + "/over-raw.qcow2");
  io(www + "/over-raw.qcow2", "-c 'write -P 0x66 1M 256k'");
  must("qemu-img convert -q -c -f qcow2 -O qcow2 -o compression_type=zstd " + www +
       "/plain.qcow2 " + www + "/zstd.qcow2");
  must("qemu-img create -q -f qcow2 -o cluster_size=4096 " + www + "/small-clusters.qcow2 8M");
  io(www + "/small-clusters.qcow2", "-c 'write -P 0x33 4k 2M' -c 'write -P 0x44 5M 12k'");
  must("qemu-img create -q -f qcow2 " + www + "/chain/base.qcow2 16M");
  io(www + "/chain/base.qcow2", "-c 'write -P 0x21 0 8M'");
  must("qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 " + www + "/chain/mid.qcow2");
  io(www + "/chain/mid.qcow2", "-c 'write -P 0x22 2M 2M'");
  must("qemu-img create -q -f qcow2 -b ../mid.qcow2 -F qcow2 " + www + "/chain/top/top.qcow2");
  io(www + "/chain/top/top.qcow2", "-c 'write -P 0x23 3M 64k' -c 'write -z 6M 1M'");
  return {"plain.qcow2", "over-raw.qcow2",       "deflate.qcow2",
          "zstd.qcow2",  "small-clusters.qcow2", "chain/top/top.qcow2"};
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size())
    s.replace(at, from.size(), to);
  return s;
}

TEST(HttpNginx, WriteEqualsQemuRaw) {
  ScratchDir dir;
  auto images = make_corpus(dir);
  Nginx nginx(dir, dir / "www");
  for (const auto& name : images) {
    SCOPED_TRACE(name);
    std::string want = dir / "want.raw", got = dir / "got.raw";
    qemu_raw(dir / ("www/" + name), want);
    must(qflash_bin() + " write " + nginx.url(name) + " " + got);
    EXPECT_EQ(first_difference(want, got), -1);
  }
}

TEST(HttpNginx, InfoAndMapMatchLocal) {
  ScratchDir dir;
  auto images = make_corpus(dir);
  Nginx nginx(dir, dir / "www");
  std::string local_prefix = dir / "www/", url_prefix = nginx.url("");
  for (const auto& name : images) {
    SCOPED_TRACE(name);
    std::string local = local_prefix + name;
    EXPECT_EQ(must(qflash_bin() + " map --output=json " + nginx.url(name)),
              must("qemu-img map --output=json " + local));
    std::string info_url = must(qflash_bin() + " info --output=json " + nginx.url(name));
    // chain/top/top.qcow2 names ../mid.qcow2, above its own directory.
    std::string info_local =
        must(qflash_bin() + " info --output=json --backing-dir " + local_prefix + " " + local);
    // Paths keep "top/../mid.qcow2"; URLs are resolved per RFC 3986.
    info_local = replace_all(info_local, "/chain/top/../", "/chain/");
    EXPECT_EQ(info_url, replace_all(info_local, local_prefix, url_prefix));
    std::string qemu = must("qemu-img info --output=json " + local);
    size_t at = qemu.find("\"virtual-size\": ");
    ASSERT_NE(at, std::string::npos) << qemu;
    std::string size = qemu.substr(at, qemu.find(',', at) - at);
    EXPECT_NE(info_url.find(size + ",\n"), std::string::npos) << size << "\n" << info_url;
  }
}

TEST(HttpNginx, PartitionsMatchLocal) {
  ScratchDir dir;
  fs::create_directories(dir / "www");
  std::string raw = dir / "disk.raw", img = dir / "www/gpt.qcow2";
  must("truncate -s 64M " + raw);
  must("sgdisk -n 1:2048:+16M -t 1:ef00 -c 1:EFI -n 2:0:0 -t 2:8300 -c 2:root " + raw);
  must("qemu-img convert -q -c -f raw -O qcow2 " + raw + " " + img);
  Nginx nginx(dir, dir / "www",
              "    location / { if ($http_x_token != \"t0k3n\") { return 403; } }");
  for (const char* output : {"human", "json"}) {
    std::string local = must(qflash_bin() + " partitions --output=" + output + " " + img);
    auto r = run(qflash_bin() + " partitions --header 'X-Token: t0k3n' --output=" + output +
                 " " + nginx.url("gpt.qcow2"));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, replace_all(local, img, nginx.url("gpt.qcow2")));
    EXPECT_NE(r.out.find("EFI"), std::string::npos) << r.out;
  }
}

TEST(HttpNginx, BackingChainResolvesAgainstUrl) {
  ScratchDir dir;
  make_corpus(dir);
  Nginx nginx(dir, dir / "www");
  std::string out = must(qflash_bin() + " info " + nginx.url("chain/top/top.qcow2"));
  EXPECT_NE(out.find("1  " + nginx.url("chain/mid.qcow2")), std::string::npos) << out;
  EXPECT_NE(out.find("2  " + nginx.url("chain/base.qcow2")), std::string::npos) << out;
  // qflash read of a range that crosses all three layers.
  qemu_raw(dir / "www/chain/top/top.qcow2", dir / "want.raw");
  auto want = read_file(dir / "want.raw");
  std::string got =
      must(qflash_bin() + " read --offset=1M --length=6M " + nginx.url("chain/top/top.qcow2"));
  ASSERT_EQ(got.size(), 6u << 20);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin() + (1 << 20),
                         [](char a, uint8_t b) { return uint8_t(a) == b; }));
  // A missing backing file over HTTP names both files.
  fs::remove(dir / "www/chain/base.qcow2");
  auto r = run(qflash_bin() + " write " + nginx.url("chain/top/top.qcow2") + " " + (dir / "t.raw"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("looked for " + nginx.url("chain/base.qcow2")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("404"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "t.raw"));
}

TEST(HttpNginx, MissingImageFailsBeforeWriting) {
  ScratchDir dir;
  fs::create_directories(dir / "www");
  Nginx nginx(dir, dir / "www");
  auto r = run(qflash_bin() + " write " + nginx.url("nope.qcow2") + " " + (dir / "t.raw"));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "qflash: " + nginx.url("nope.qcow2") + ": the server answered HTTP 404 Not Found\n");
  EXPECT_FALSE(fs::exists(dir / "t.raw"));
}

TEST(HttpNginx, TokenHeaderSentNeverPrinted) {
  ScratchDir dir;
  make_corpus(dir);
  Nginx nginx(dir, dir / "www",
              "    location /chain/ { if ($http_x_token != \"t0ken-s3cret\") { return 403; } }");
  std::string url = nginx.url("chain/top/top.qcow2");
  auto denied = run(qflash_bin() + " info " + url);
  EXPECT_EQ(denied.status, 1);
  EXPECT_NE(denied.err.find("HTTP 403 Forbidden"), std::string::npos) << denied.err;
  auto r = run(qflash_bin() + " write --debug --header 'X-Token: t0ken-s3cret' " + url + " " +
               (dir / "got.raw"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("GET bytes"), std::string::npos);  // --debug did talk
  EXPECT_EQ((r.out + r.err).find("t0ken"), std::string::npos);
  qemu_raw(dir / "www/chain/top/top.qcow2", dir / "want.raw");
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "got.raw"), -1);
  auto bad = run(qflash_bin() + " info --header 'X-Token t0ken-s3cret' " + url);
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.err.find("t0ken"), std::string::npos) << bad.err;
}

TEST(HttpNginx, UrlCredentialsUsedNeverPrinted) {
  ScratchDir dir;
  make_corpus(dir);
  std::ofstream(dir / "htpasswd") << "station:" << must("openssl passwd -apr1 pa55-w0rd");
  Nginx nginx(dir, dir / "www",
              "    auth_basic \"qflash\";\n    auth_basic_user_file " + (dir / "htpasswd") + ";");
  std::string url = nginx.url("chain/top/top.qcow2");
  std::string with_creds = replace_all(url, "127.0.0.1", "station:pa55-w0rd@127.0.0.1");
  auto r = run(qflash_bin() + " info --debug " + with_creds);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("image: " + url + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(nginx.url("chain/base.qcow2")), std::string::npos) << r.out;
  EXPECT_EQ((r.out + r.err).find("pa55"), std::string::npos);
  std::string wrong = replace_all(url, "127.0.0.1", "station:wr0ng-pa55@127.0.0.1");
  auto denied = run(qflash_bin() + " map --debug " + wrong);
  EXPECT_EQ(denied.status, 1);
  EXPECT_NE(denied.err.find("HTTP 401 Unauthorized"), std::string::npos) << denied.err;
  EXPECT_EQ((denied.out + denied.err).find("pa55"), std::string::npos) << denied.err;
}

TEST(HttpNginx, RedirectIsFollowed) {
  ScratchDir dir;
  make_corpus(dir);
  Nginx nginx(dir, dir / "www", "    location /old/ { rewrite ^/old/(.*)$ /$1 redirect; }");
  must(qflash_bin() + " write " + nginx.url("old/chain/top/top.qcow2") + " " + (dir / "got.raw"));
  qemu_raw(dir / "www/chain/top/top.qcow2", dir / "want.raw");
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "got.raw"), -1);
}

// HTTPS verifies the server against the system's CA store: a self-signed
// certificate is refused with curl's reason, before anything is written.
TEST(HttpNginx, HttpsVerifiesCertificates) {
  ScratchDir dir;
  make_corpus(dir);
  must("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -keyout " +
       (dir / "key.pem") + " -out " + (dir / "cert.pem") + " 2>&1");
  Nginx nginx(dir, dir / "www",
              "    ssl_certificate " + (dir / "cert.pem") + ";\n    ssl_certificate_key " +
                  (dir / "key.pem") + ";",
              true);
  auto r = run(qflash_bin() + " write " + nginx.url("plain.qcow2") + " " + (dir / "got.raw"));
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(
      r.err.starts_with("qflash: " + nginx.url("plain.qcow2") + ": SSL certificate problem"))
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "got.raw"));
}

// Many threads reading random ranges through a small cache (constant
// eviction) and aggressive read-ahead get the file's exact bytes.
TEST(HttpNginx, ConcurrentReadsAreExact) {
  ScratchDir dir;
  fs::create_directories(dir / "www");
  auto want = noise(5000000, 2);
  write_file(dir / "www/blob", want);
  Nginx nginx(dir, dir / "www");
  HttpOptions opt;
  opt.chunk_size = 64 << 10;
  opt.cache_chunks = 2;  // smaller than one read: chunks kept only for their waiters
  opt.readahead_chunks = 4;
  opt.max_transfers = 4;
  auto src = open_http_source(nginx.url("blob"), {}, opt);
  ASSERT_TRUE(src.ok()) << src.error().message;
  EXPECT_EQ((*src)->size(), want.size());
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      std::vector<uint8_t> buf(300000);
      uint64_t pos = uint64_t(t) * 1000000;
      for (int i = 0; i < 150; ++i) {
        // Half sequential streams (read-ahead), half random jumps.
        uint64_t off = i % 2 ? pos : rng() % (want.size() + 1000);
        size_t len = 1 + rng() % buf.size();
        auto n = (*src)->read_at(std::span(buf).first(len), off);
        size_t expect = off >= want.size() ? 0 : std::min<uint64_t>(len, want.size() - off);
        if (!n.ok() || *n != expect ||
            !std::equal(buf.begin(), buf.begin() + long(expect),
                        want.begin() + long(std::min<uint64_t>(off, want.size()))))
          ++bad[size_t(t)];
        pos = (off + len) % want.size();
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace qflash::test
