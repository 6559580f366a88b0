// HTTP faults against tests/http/faulty_server.py: transient faults are
// retried and the bytes stay exact, a range broken mid-way (the opening one
// too) resumes from the byte where it stopped; no range support, 4xx and a
// file that changes mid-run fail with one clear line, exit 1, nothing
// written.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include "io/http/http_source.h"
#include "tests/http/servers.h"
#include "tests/support/mass_support.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

// Quick retries, and an opening request of one chunk: these tests fault
// and count the requests that follow it.
HttpOptions quick() {
  HttpOptions o;
  o.backoff = std::chrono::milliseconds(5);
  o.opening_chunks = 1;
  return o;
}

TEST(HttpFaults, TransientFaultsAreRetried) {
  ScratchDir dir;
  std::string img = make_served_image(dir);
  FaultyServer server(dir, dir / "www", {"--fail-rate", "0.3", "--seed", "5"});
  // A small budget: 1 MiB requests, enough of them for every kind of fault.
  auto r = run(qflash_bin() + " write --memory=16M " + server.url("disk.qcow2") + " " +
               (dir / "got.raw"));
  ASSERT_EQ(r.status, 0) << r.err << server.log();
  qemu_raw(img, dir / "want.raw");
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "got.raw"), -1);
  // The faults did happen, of every kind.
  EXPECT_GT(server.count("503"), 0) << server.log();
  EXPECT_GT(server.count("reset before answering"), 0) << server.log();
  EXPECT_GT(server.count("reset halfway through the body"), 0) << server.log();
}

TEST(HttpFaults, GivesUpAfterBoundedRetries) {
  ScratchDir dir;
  make_served_image(dir);
  FaultyServer server(dir, dir / "www", {"--fail-rate", "1"});
  HttpOptions o = quick();
  o.max_retries = 3;
  auto src = open_http_source(server.url("disk.qcow2"), {}, o);
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.error().message.find(server.url("disk.qcow2") + ": "), std::string::npos);
  EXPECT_NE(src.error().message.find("(gave up after 3 retries)"), std::string::npos)
      << src.error().message;
  // 4 attempts; curl itself retries once a reused connection that died
  // before answering, so up to 8 requests, never more.
  EXPECT_GE(server.requests(), 4) << server.log();
  EXPECT_LE(server.requests(), 8) << server.log();
}

TEST(HttpFaults, ReadsGiveUpAfterBoundedRetries) {
  ScratchDir dir;
  make_served_image(dir);
  FaultyServer server(dir, dir / "www", {"--fail-rate", "1", "--fail-from", "1"});
  HttpOptions o = quick();
  o.max_retries = 2;
  auto src = open_http_source(server.url("disk.qcow2"), {}, o);
  ASSERT_TRUE(src.ok()) << src.error().message;
  // The opening request brought the first chunk: the next one is a read's.
  std::vector<uint8_t> buf(4096);
  auto n = (*src)->read_at(buf, 3 << 20);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.error().message.find(server.url("disk.qcow2") + ": bytes 3145728-"),
            std::string::npos)
      << n.error().message;
  EXPECT_NE(n.error().message.find("(gave up after 2 retries)"), std::string::npos)
      << n.error().message;
  EXPECT_LE(server.requests(), 1 + 2 * 3) << server.log();
}

TEST(HttpFaults, StalledTransferIsRetried) {
  ScratchDir dir;
  std::string img = make_served_image(dir);
  FaultyServer server(dir, dir / "www", {"--stall", "1"});
  HttpOptions o = quick();
  o.stall_timeout_s = 1;
  auto src = open_http_source(server.url("disk.qcow2"), {}, o);
  ASSERT_TRUE(src.ok()) << src.error().message;
  std::vector<uint8_t> buf(1 << 20);
  auto n = (*src)->read_at(buf, 3 << 20);
  ASSERT_TRUE(n.ok()) << n.error().message;
  auto want = read_file(img);
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), want.begin() + (3 << 20)));
  EXPECT_EQ(server.count("stalled"), 1) << server.log();
}

// What reaches the server: a sequential stream is read ahead, random reads
// are not, and cached chunks cost no request.
TEST(HttpFaults, ReadAheadAndCacheAsSeenByTheServer) {
  ScratchDir dir;
  std::string img = make_served_image(dir);
  FaultyServer server(dir, dir / "www");
  HttpOptions o = quick();
  o.chunk_size = 64 << 10;
  o.readahead_chunks = 4;
  auto src = open_http_source(server.url("disk.qcow2"), {}, o);
  ASSERT_TRUE(src.ok()) << src.error().message;
  auto ranges = [&] { return server.ranges(); };
  auto settle = [&](size_t n) {  // wait (bounded) until n requests were logged
    for (int i = 0; i < 200 && ranges().size() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return ranges();
  };
  std::vector<uint8_t> buf(64 << 10);
  auto want = read_file(img);
  // Random: chunks 40 and 10 only, nothing ahead.
  ASSERT_TRUE((*src)->read_at(buf, 40 * buf.size()).ok());
  ASSERT_TRUE((*src)->read_at(buf, 10 * buf.size()).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ranges(), (std::vector<std::string>{"0-65535", "2621440-2686975",
                                                "655360-720895"}));
  // Chunk 11 continues the stream at 10: chunks 12..15 are fetched ahead.
  ASSERT_TRUE((*src)->read_at(buf, 11 * buf.size()).ok());
  auto r = settle(8);
  ASSERT_EQ(r.size(), 8u);
  std::sort(r.begin() + 3, r.end());  // in flight together: any order
  EXPECT_EQ(std::vector<std::string>(r.begin() + 3, r.end()),
            (std::vector<std::string>{"720896-786431", "786432-851967",
                                      "851968-917503", "917504-983039",
                                      "983040-1048575"}));
  // Chunks 12 and 10 are cached: no request; the bytes are right.
  ASSERT_TRUE((*src)->read_at(buf, 12 * buf.size()).ok());
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), want.begin() + 12 * long(buf.size())));
  ASSERT_TRUE((*src)->read_at(buf, 10 * buf.size()).ok());
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), want.begin() + 10 * long(buf.size())));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ranges().size(), 9u);  // only chunk 16, ahead of the stream at 12
}

// The opening request brings the first 16 chunks (the header's, and the
// first reads'): reads within them ask nothing more, a read past them asks
// from there on, and the bytes are exact.
TEST(HttpFaults, OpeningRequestBringsTheFirstChunks) {
  ScratchDir dir;
  std::string img = make_served_image(dir);
  FaultyServer server(dir, dir / "www");
  auto src = open_http_source(server.url("disk.qcow2"), {}, {});
  ASSERT_TRUE(src.ok()) << src.error().message;
  auto want = read_file(img);
  std::vector<uint8_t> buf(3 << 20);
  for (long at : {0l, 5l << 20, 13l << 20, 20l << 20}) {
    ASSERT_TRUE((*src)->read_at(buf, uint64_t(at)).ok());
    EXPECT_TRUE(std::equal(buf.begin(), buf.end(), want.begin() + at)) << at;
  }
  auto ranges = server.ranges();
  ASSERT_GE(ranges.size(), 2u) << server.log();
  EXPECT_EQ(ranges[0], "0-16777215");
  for (size_t i = 1; i < ranges.size(); ++i)
    EXPECT_GE(std::stoull(ranges[i]), 16777216u) << server.log();
}

// The first data request (after the opening one, which brought the first
// chunk) breaks half-way: the next one asks only for the bytes still
// missing, and the bytes are exact.
TEST(HttpFaults, BrokenRangeResumesWhereItStopped) {
  ScratchDir dir;
  std::string img = make_served_image(dir);
  FaultyServer server(dir, dir / "www", {"--cut", "1"});
  auto src = open_http_source(server.url("disk.qcow2"), {}, quick());
  ASSERT_TRUE(src.ok()) << src.error().message;
  std::vector<uint8_t> buf(1 << 20);
  auto n = (*src)->read_at(buf, 1 << 20);
  ASSERT_TRUE(n.ok()) << n.error().message;
  auto want = read_file(img);
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), want.begin() + (1 << 20)));
  auto ranges = server.ranges();
  ASSERT_EQ(ranges.size(), 3u) << server.log();
  EXPECT_EQ(ranges[0], "0-1048575");
  EXPECT_EQ(ranges[1], "1048576-2097151");
  uint64_t resumed_from = std::stoull(ranges[2]);
  EXPECT_GT(resumed_from, 1048576u) << server.log();
  EXPECT_LE(resumed_from, 1048576u + 524288u) << server.log();
  EXPECT_EQ(ranges[2], std::to_string(resumed_from) + "-2097151");
}

// The opening request breaks half-way, its first chunks in: the source is
// open, and the rest is asked from the byte where it stopped.
TEST(HttpFaults, BrokenOpeningResumesWhereItStopped) {
  ScratchDir dir;
  std::string img = make_served_image(dir);
  FaultyServer server(dir, dir / "www", {"--cut", "0"});
  HttpOptions o;
  o.backoff = std::chrono::milliseconds(5);
  auto src = open_http_source(server.url("disk.qcow2"), {}, o);
  ASSERT_TRUE(src.ok()) << src.error().message;
  std::vector<uint8_t> buf(16 << 20);
  ASSERT_TRUE((*src)->read_at(buf, 0).ok());
  auto want = read_file(img);
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), want.begin()));
  auto ranges = server.ranges();
  ASSERT_EQ(ranges.size(), 2u) << server.log();
  EXPECT_EQ(ranges[0], "0-16777215");
  uint64_t resumed_from = std::stoull(ranges[1]);
  EXPECT_GE(resumed_from, 1u << 20) << server.log();
  EXPECT_LE(resumed_from, 8u << 20) << server.log();
  EXPECT_EQ(ranges[1], std::to_string(resumed_from) + "-16777215");
}

// An image shorter than the opening request comes whole in its answer,
// from a server without range support too (RFC 9110: the range covers it).
TEST(HttpFaults, ImageShorterThanTheOpeningComesInOneAnswer) {
  ScratchDir dir;
  fs::create_directories(dir / "www");
  std::string img = dir / "www/small.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 8M");
  must("qemu-io -f qcow2 -c 'write -P 0x5a 0 3M' -c 'write -P 0x11 5M 1M' " + img + " >/dev/null");
  ASSERT_GT(fs::file_size(img), 1u << 20);
  qemu_raw(img, dir / "want.raw");
  for (const std::vector<std::string>& flags : {std::vector<std::string>{}, {"--ignore-range"}}) {
    SCOPED_TRACE(flags.empty() ? "with range support" : flags[0]);
    FaultyServer server(dir, dir / "www", flags);
    must(qflash_bin() + " write " + server.url("small.qcow2") + " " + (dir / "got.raw"));
    EXPECT_EQ(first_difference(dir / "want.raw", dir / "got.raw"), -1);
    EXPECT_EQ(server.requests(), 1) << server.log();
    fs::remove(dir / "got.raw");
  }
}

// `qflash write` from a faulty server started with `args` (serving
// make_served_image) fails at open with exit status 1 and the line `why`
// after the URL (SIZE: the file's size), writes nothing, and asks once (no
// retries for a definite answer).
void expect_refused_at_open(const std::vector<std::string>& args, std::string why) {
  ScratchDir dir;
  std::string img = make_served_image(dir);
  FaultyServer server(dir, dir / "www", args);
  auto r = run(qflash_bin() + " write " + server.url("disk.qcow2") + " " + (dir / "got.raw"));
  EXPECT_EQ(r.status, 1);
  if (size_t at = why.find("SIZE"); at != std::string::npos)
    why.replace(at, 4, std::to_string(fs::file_size(img)));
  EXPECT_EQ(r.err, "qflash: " + server.url("disk.qcow2") + ": " + why + "\n");
  EXPECT_FALSE(fs::exists(dir / "got.raw"));
  EXPECT_EQ(server.requests(), 1) << server.log();
}

TEST(HttpFaults, NoRangeSupportFailsBeforeWriting) {
  expect_refused_at_open({"--ignore-range"},
                         "the server (or a proxy on the way) answered a request for bytes "
                         "0-16777215 with 200 OK (the whole file, SIZE bytes): it does not "
                         "support range requests");
}

TEST(HttpFaults, UnknownSizeFailsBeforeWriting) {
  expect_refused_at_open({"--unknown-size"}, "the server does not tell the file's size");
}

// RFC 9110 lets a server answer a range covering the whole file with 200;
// an image smaller than one chunk asks exactly that.
TEST(HttpFaults, WholeFileAnsweredWith200) {
  ScratchDir dir;
  fs::create_directories(dir / "www");
  std::string img = dir / "www/small.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 1M");
  must("qemu-io -f qcow2 -c 'write -P 0x77 64k 128k' " + img);
  ASSERT_LT(fs::file_size(img), 1u << 20);
  FaultyServer server(dir, dir / "www", {"--full-200"});
  must(qflash_bin() + " write " + server.url("small.qcow2") + " " + (dir / "got.raw"));
  qemu_raw(img, dir / "want.raw");
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "got.raw"), -1);
  // Once: the image's SHA-256 is taken from the same answer.
  EXPECT_EQ(server.count("200"), 1) << server.log();
}

TEST(HttpFaults, ChangedImageFailsTheRun) {
  ScratchDir dir;
  make_served_image(dir);
  {
    // A new ETag after the header and tables were read (the opening
    // request's chunk): the data phase sees it.
    FaultyServer server(dir, dir / "www", {"--change-after", "2"});
    auto r = run(qflash_bin() + " write " + server.url("disk.qcow2") + " " + (dir / "got.raw"));
    expect_run_failed(r, {"qflash: " + server.url("disk.qcow2") +
                          ": image changed on the server during the run (ETag was \"v1\", now "
                          "\"v2\")"});
  }
  {
    // A new size is caught too, from the Content-Range of any later answer.
    FaultyServer server(dir, dir / "www", {"--change-after", "1", "--grow"});
    HttpOptions o = quick();
    auto src = open_http_source(server.url("disk.qcow2"), {}, o);
    ASSERT_TRUE(src.ok()) << src.error().message;
    std::vector<uint8_t> buf(100);
    auto n = (*src)->read_at(buf, 2 << 20);
    ASSERT_FALSE(n.ok());
    EXPECT_NE(n.error().message.find("image changed on the server during the run (size was"),
              std::string::npos)
        << n.error().message;
    // Sticky: later reads fail the same way, even of other ranges.
    EXPECT_FALSE((*src)->read_at(buf, 5 << 20).ok());
  }
}

TEST(HttpFaults, ClientErrorsAreNotRetried) {
  ScratchDir dir;
  make_served_image(dir);
  FaultyServer server(dir, dir / "www", {"--require-header", "X-Token: t0k3n"});
  auto r = run(qflash_bin() + " map " + server.url("disk.qcow2"));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "qflash: " + server.url("disk.qcow2") + ": the server answered HTTP 403 Forbidden\n");
  auto missing = run(qflash_bin() + " info --header 'X-Token: t0k3n' " + server.url("gone.qcow2"));
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.err,
            "qflash: " + server.url("gone.qcow2") + ": the server answered HTTP 404 Not Found\n");
  EXPECT_EQ(server.requests(), 2);
}

// qflash-mass from a URL onto three files, through faults, with a token
// and credentials: every target exact, the JSON report without secrets.
TEST(HttpFaults, MassFromUrl) {
  ScratchDir dir;
  std::string img = make_served_image(dir);
  FaultyServer server(dir, dir / "www",
                      {"--auth", "station:pa55w0rd", "--require-header", "X-Token: t0k3n",
                       "--fail-rate", "0.2", "--seed", "11"});
  std::string url = server.url("disk.qcow2");
  std::string secret_url = "http://station:pa55w0rd@" + url.substr(7);
  // A small budget: requests of 1 MiB, enough of them to meet faults.
  auto r = run(qflash_mass_bin() + " --json --memory=16M --header 'X-Token: t0k3n' " +
               secret_url + " " +
               (dir / "t1.raw") + " " + (dir / "t2.raw") + " " + (dir / "t3.raw"));
  ASSERT_EQ(r.status, 0) << r.err << server.log();
  EXPECT_NE(r.out.find("\"image\": \"" + url + "\""), std::string::npos) << r.out;
  EXPECT_EQ((r.out + r.err).find("pa55w0rd"), std::string::npos) << r.out << r.err;
  EXPECT_EQ((r.out + r.err).find("t0k3n"), std::string::npos) << r.out << r.err;
  qemu_raw(img, dir / "want.raw");
  for (const char* t : {"t1.raw", "t2.raw", "t3.raw"})
    EXPECT_EQ(first_difference(dir / "want.raw", dir / t), -1) << t;
  EXPECT_GT(server.count("503") + server.count("reset before answering") +
                server.count("reset halfway through the body"),
            0)
      << server.log();
}

TEST(HttpFaults, SecretsReachTheServerNotTheOutput) {
  ScratchDir dir;
  std::string img = make_served_image(dir);
  FaultyServer server(dir, dir / "www",
                      {"--auth", "station:pa55w0rd", "--require-header", "X-Token: t0k3n",
                       "--fail-rate", "0.2", "--seed", "3"});
  std::string url = server.url("redirect/disk.qcow2");
  std::string secret_url = "http://station:pa55w0rd@" + url.substr(7);
  for (const char* cmd : {"info", "map"}) {
    auto r = run(qflash_bin() + " " + cmd + " --debug --header 'X-Token: t0k3n' " + secret_url);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ((r.out + r.err).find("pa55w0rd"), std::string::npos) << r.out << r.err;
    EXPECT_EQ((r.out + r.err).find("t0k3n"), std::string::npos) << r.out << r.err;
  }
  auto w = run(qflash_bin() + " write --debug --header 'X-Token: t0k3n' " + secret_url + " " +
               (dir / "got.raw"));
  ASSERT_EQ(w.status, 0) << w.err;
  EXPECT_EQ(w.err.find("pa55w0rd"), std::string::npos);
  EXPECT_EQ(w.err.find("t0k3n"), std::string::npos);
  EXPECT_NE(w.err.find(url + ": GET bytes"), std::string::npos) << w.err;  // --debug, redacted
  qemu_raw(img, dir / "want.raw");
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "got.raw"), -1);
  auto denied = run(qflash_bin() + " info --header 'X-Token: t0k3n' " + url);
  EXPECT_EQ(denied.status, 1);
  EXPECT_NE(denied.err.find("HTTP 401 Unauthorized"), std::string::npos) << denied.err;
}

}  // namespace
}  // namespace qflash::test
