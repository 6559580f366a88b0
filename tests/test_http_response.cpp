// The pure cores of the HTTP source, in memory: Content-Range parsing,
// judging answers (status, range, length, validators, resumable breaks),
// origins, and the read-ahead plan.
#include <gtest/gtest.h>

#include "io/http/pipeline.h"
#include "io/http/response.h"
#include "io/http/transfer.h"
#include "io/http/url.h"

namespace qflash {
namespace {

TEST(HttpResponse, ParsesContentRange) {
  auto cr = parse_content_range("bytes 0-1048575/25165824");
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->first, 0u);
  EXPECT_EQ(cr->last, 1048575u);
  EXPECT_EQ(cr->total, 25165824u);
  auto open = parse_content_range("bytes 5-9/*");
  ASSERT_TRUE(open);
  EXPECT_FALSE(open->total);
  for (const char* bad : {"", "bytes", "bytes 9-5/100", "bytes 0-99/99", "bytes */100",
                          "bytes 0-9/100 junk", "items 0-9/100", "bytes 0-9/"})
    EXPECT_FALSE(parse_content_range(bad)) << bad;
}

const Validators kFirst{25165824, "\"v1\"", "Tue, 01 Sep 2026 10:00:00 GMT"};
const RangeAsk kAsk{1 << 20, 1 << 20, false};

Answer good() {
  Answer a;
  a.status = 206;
  a.content_range = "bytes 1048576-2097151/25165824";
  a.etag = kFirst.etag;
  a.last_modified = kFirst.last_modified;
  a.content_length = 1 << 20;
  a.received = 1 << 20;
  return a;
}

TEST(HttpResponse, AcceptsTheRangeAsked) {
  EXPECT_EQ(judge_answer(kAsk, good(), &kFirst).verdict, Verdict::Done);
  // The whole file asked: a plain 200 answers it too.
  Answer whole = good();
  whole.status = 200;
  whole.content_range.clear();
  whole.content_length = 1 << 20;
  EXPECT_EQ(judge_answer({0, 1 << 20, true}, whole, nullptr).verdict, Verdict::Done);
}

// The opening request asks for the first chunk before the size is known: a
// shorter file comes up to its end, or whole with a 200; nothing less.
TEST(HttpResponse, OpeningRangeMayStopAtTheFilesEnd) {
  const RangeAsk opening{0, 1 << 20, false, true};
  Answer small;
  small.status = 206;
  small.content_range = "bytes 0-99/100";
  small.content_length = small.received = 100;
  EXPECT_EQ(judge_answer(opening, small, nullptr).verdict, Verdict::Done);
  Answer big = small;
  big.content_range = "bytes 0-1048575/25165824";
  big.content_length = big.received = 1 << 20;
  EXPECT_EQ(judge_answer(opening, big, nullptr).verdict, Verdict::Done);
  Answer whole = small;
  whole.status = 200;
  whole.content_range.clear();
  EXPECT_EQ(judge_answer(opening, whole, nullptr).verdict, Verdict::Done);
  // Short of the end it stops at, or a 200 of more than was asked: refused.
  Answer cut = small;
  cut.content_range = "bytes 0-99/200";
  Outcome o = judge_answer(opening, cut, nullptr);
  EXPECT_EQ(o.verdict, Verdict::Fail);
  EXPECT_EQ(o.why, "the server (or a proxy on the way) answered a request for bytes 0-1048575 "
                   "with bytes 0-99/200");
  Answer too_big = whole;
  too_big.content_length = 2 << 20;
  EXPECT_EQ(judge_answer(opening, too_big, nullptr).verdict, Verdict::Fail);
  // The body must hold what the head said.
  Answer short_body = small;
  short_body.received = 60;
  EXPECT_EQ(judge_answer(opening, short_body, nullptr).verdict, Verdict::Retry);
  // Any other range must be answered in full, even at the end of the file.
  EXPECT_EQ(judge_answer({0, 1 << 20, false}, small, nullptr).verdict, Verdict::Fail);
}

TEST(HttpResponse, RefusesWholeFileForARange) {
  Answer a = good();
  a.status = 200;
  a.cut_200 = true;
  a.content_length = 25165824;
  Outcome o = judge_answer(kAsk, a, &kFirst);
  EXPECT_EQ(o.verdict, Verdict::Fail);
  EXPECT_EQ(o.why,
            "the server (or a proxy on the way) answered a request for bytes 1048576-2097151 with "
            "200 OK (the whole file, 25165824 bytes): it does not support range requests");
}

TEST(HttpResponse, RefusesAnotherRange) {
  Answer a = good();
  a.content_range = "bytes 2097152-3145727/25165824";
  Outcome o = judge_answer(kAsk, a, &kFirst);
  EXPECT_EQ(o.verdict, Verdict::Fail);
  EXPECT_EQ(o.why, "the server (or a proxy on the way) answered a request for bytes "
                   "1048576-2097151 with bytes 2097152-3145727/25165824");
  a.content_range = "bytes 1048576-1048999/*";
  EXPECT_EQ(judge_answer(kAsk, a, &kFirst).verdict, Verdict::Fail);
  a.content_range = "nonsense";
  EXPECT_EQ(judge_answer(kAsk, a, &kFirst).verdict, Verdict::Fail);
}

TEST(HttpResponse, RefusesAnotherVersion) {
  Answer etag = good();
  etag.etag = "\"v2\"";
  Outcome o = judge_answer(kAsk, etag, &kFirst);
  EXPECT_EQ(o.verdict, Verdict::Fail);
  EXPECT_TRUE(o.why.starts_with(kImageChanged + " (ETag was \"v1\", now \"v2\")")) << o.why;
  Answer size = good();
  size.content_range = "bytes 1048576-2097151/30000000";
  EXPECT_TRUE(judge_answer(kAsk, size, &kFirst).why.starts_with(kImageChanged + " (size was"));
  Answer modified = good();
  modified.last_modified = "Wed, 02 Sep 2026 10:00:00 GMT";
  EXPECT_TRUE(
      judge_answer(kAsk, modified, &kFirst).why.starts_with(kImageChanged + " (Last-Modified"));
  // While probing there is nothing to compare with.
  EXPECT_EQ(judge_answer(kAsk, etag, nullptr).verdict, Verdict::Done);
}

TEST(HttpResponse, BrokenTransferResumesOnlyAfterAGoodHead) {
  Answer broken = good();
  broken.received = 300000;
  broken.transport_error = "Recv failure: Connection reset by peer";
  broken.transport_transient = true;
  Outcome o = judge_answer(kAsk, broken, &kFirst);
  EXPECT_EQ(o.verdict, Verdict::Retry);
  EXPECT_TRUE(o.resume);
  // Bytes of another version are not kept, nor is anything on a fatal error.
  Answer other = broken;
  other.etag = "\"v2\"";
  EXPECT_FALSE(judge_answer(kAsk, other, &kFirst).resume);
  Answer fatal = broken;
  fatal.transport_transient = false;
  EXPECT_EQ(judge_answer(kAsk, fatal, &kFirst).verdict, Verdict::Fail);
  // A short body without a transport error (a proxy closing early).
  Answer short_body = good();
  short_body.received = 1000;
  o = judge_answer(kAsk, short_body, &kFirst);
  EXPECT_EQ(o.verdict, Verdict::Retry);
  EXPECT_TRUE(o.resume);
  EXPECT_EQ(o.why, "short answer (1000 of 1048576 bytes)");
}

TEST(HttpResponse, StatusesAndRedirects) {
  Answer a;
  a.status = 503;
  EXPECT_EQ(judge_answer(kAsk, a, &kFirst).verdict, Verdict::Retry);
  a.status = 404;
  Outcome o = judge_answer(kAsk, a, &kFirst);
  EXPECT_EQ(o.verdict, Verdict::Fail);
  EXPECT_EQ(o.why, "the server answered HTTP 404 Not Found");
  a.status = 416;
  EXPECT_TRUE(judge_answer(kAsk, a, &kFirst).why.starts_with(kImageChanged));
  a.status = 302;
  a.location = "http://elsewhere/x";
  o = judge_answer(kAsk, a, &kFirst);
  EXPECT_EQ(o.verdict, Verdict::Redirect);
  EXPECT_EQ(o.why, "http://elsewhere/x");
  Answer over = good();
  over.overflow = true;
  EXPECT_EQ(judge_answer(kAsk, over, &kFirst).verdict, Verdict::Fail);
}

TEST(HttpResponse, RetryPolicyDoublesAndStops) {
  RetryPolicy p{3, std::chrono::milliseconds(100)};
  EXPECT_EQ(p.delay(1), std::chrono::milliseconds(100));
  EXPECT_EQ(p.delay(2), std::chrono::milliseconds(200));
  EXPECT_EQ(p.delay(3), std::chrono::milliseconds(400));
  EXPECT_FALSE(p.delay(4));
  RetryPolicy long_run{40, std::chrono::milliseconds(1000)};
  EXPECT_EQ(long_run.delay(30), std::chrono::milliseconds(10000));
}

TEST(HttpOrigins, OriginOfUrls) {
  EXPECT_EQ(url_origin("http://h/x"), "http://h:80");
  EXPECT_EQ(url_origin("HTTPS://User:pw@Images.Example/a/b?c"), "https://images.example:443");
  EXPECT_EQ(url_origin("http://127.0.0.1:8080/x"), "http://127.0.0.1:8080");
  EXPECT_EQ(url_origin("ftp://h/x"), "");
  EXPECT_EQ(url_origin("/local/file"), "");
  EXPECT_EQ(url_scheme("ftp://h/x"), "ftp");
  EXPECT_EQ(url_scheme("s3+x://b"), "s3+x");
  EXPECT_EQ(url_scheme("/a://b"), "");
  EXPECT_EQ(url_scheme("dir/file"), "");
}

TEST(HttpOrigins, ParsesAllowOrigin) {
  EXPECT_EQ(*parse_origin("https://cdn.example"), "https://cdn.example:443");
  EXPECT_EQ(*parse_origin("http://10.0.0.5:8080/"), "http://10.0.0.5:8080");
  for (const char* bad : {"cdn.example", "https://cdn.example/images", "ftp://h",
                          "https://u:p@cdn.example", "https://h?x=1"})
    EXPECT_FALSE(parse_origin(bad).ok()) << bad;
  // The refusal never echoes credentials.
  auto r = parse_origin("https://u:s3cret@h/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("s3cret"), std::string::npos);
}

TEST(HttpPipeline, AheadAndInFlightFitTheLink) {
  PipelineLimits lim;  // 1 MiB chunks, 128 MiB budget, 16 transfers, 8 chunks a request
  // Nothing measured: the whole budget.
  Pipeline start = plan_pipeline({}, lim);
  EXPECT_EQ(start.ahead_chunks, 128u);
  EXPECT_EQ(start.request_chunks, 8u);
  EXPECT_EQ(start.transfers, 16);
  // The opening request's round trip only (3 ms), the rate assumed (1 GB/s):
  // 12 chunks in flight, twice that ahead.
  Pipeline opened = plan_pipeline({0.003, 0}, lim);
  EXPECT_EQ(opened.ahead_chunks, 24u);
  EXPECT_EQ(opened.request_chunks, 1u);
  EXPECT_EQ(opened.transfers, 12);
  // Near and fast (0.2 ms, 1 GB/s): 8 ranges of one chunk in flight, 16 ahead.
  Pipeline near = plan_pipeline({0.0002, 1e9}, lim);
  EXPECT_EQ(near.ahead_chunks, 16u);
  EXPECT_EQ(near.request_chunks, 1u);
  EXPECT_EQ(near.transfers, 8);
  // 100 ms at 100 MB/s: 39 chunks in flight, as 13 requests of 3 (16 of
  // them would cover it), 78 ahead.
  Pipeline far = plan_pipeline({0.1, 100e6}, lim);
  EXPECT_EQ(far.ahead_chunks, 78u);
  EXPECT_EQ(far.request_chunks, 3u);
  EXPECT_EQ(far.transfers, 13);
  // Never more than the budget, however far.
  Pipeline farther = plan_pipeline({0.2, 1e9}, lim);
  EXPECT_EQ(farther.ahead_chunks, 128u);
  EXPECT_EQ(farther.request_chunks, 8u);
  EXPECT_EQ(farther.transfers, 16);
  lim.budget = 4 << 20;
  Pipeline small = plan_pipeline({0.2, 1e9}, lim);
  EXPECT_EQ(small.ahead_chunks, 4u);
  EXPECT_EQ(small.request_chunks, 1u);
  EXPECT_EQ(small.transfers, 4);
}

}  // namespace
}  // namespace qflash
