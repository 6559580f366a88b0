// URL redaction and resolution, and the chunk cache's LRU order.
#include <gtest/gtest.h>

#include "io/http/chunk_cache.h"
#include "io/http/url.h"

namespace qflash {
namespace {

TEST(HttpUrl, RedactRemovesUserinfoOnly) {
  EXPECT_EQ(redact_url("https://u:p@h.example:8443/a/b.qcow2?x=1"),
            "https://h.example:8443/a/b.qcow2?x=1");
  EXPECT_EQ(redact_url("http://user@h/x"), "http://h/x");
  EXPECT_EQ(redact_url("http://h/x@y"), "http://h/x@y");  // '@' in the path is not userinfo
  EXPECT_EQ(redact_url("http://a:b@c@h/x"), "http://h/x");
  EXPECT_EQ(redact_url("/local/path@1"), "/local/path@1");
  EXPECT_EQ(url_userinfo("http://me:s3cret@h/x"), "me:s3cret");
  EXPECT_EQ(url_userinfo("http://h/x"), "");
}

TEST(HttpUrl, ResolveAgainstImageUrl) {
  auto r = [](const std::string& base, const std::string& ref) {
    auto x = resolve_url(base, ref);
    EXPECT_TRUE(x.ok()) << base << " + " << ref;
    return x.ok() ? *x : std::string();
  };
  EXPECT_EQ(r("http://h/img/top.qcow2", "base.qcow2"), "http://h/img/base.qcow2");
  EXPECT_EQ(r("http://h/img/sub/top.qcow2", "../base.qcow2"), "http://h/img/base.qcow2");
  EXPECT_EQ(r("http://u:p@h:81/img/top.qcow2?t=1", "b.qcow2"), "http://u:p@h:81/img/b.qcow2");
  EXPECT_EQ(r("http://h/img/top.qcow2", "with space.qcow2"), "http://h/img/with%20space.qcow2");
  EXPECT_EQ(r("http://h/img/top.qcow2", "https://other/b.qcow2"), "https://other/b.qcow2");
  EXPECT_FALSE(resolve_url("not a url", "b.qcow2").ok());
}

TEST(HttpChunkCache, EvictsLeastRecentlyUsed) {
  ChunkCache cache(3);
  auto chunk = [](uint8_t v) { return std::make_shared<const std::vector<uint8_t>>(4, v); };
  auto put_read = [&](uint64_t i, uint8_t v) {  // a reader takes it whole at once
    cache.put(i, chunk(v));
    cache.taken(i, 0, 4);
  };
  put_read(1, 1);  // each read as it arrives
  put_read(2, 2);
  put_read(3, 3);
  ASSERT_TRUE(cache.get(1));  // 1 is now the most recent; 2 the least
  put_read(4, 4);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.contains(2));
  EXPECT_TRUE(cache.contains(1) && cache.contains(3) && cache.contains(4));
  auto kept = cache.get(3);
  put_read(5, 5);
  put_read(6, 6);
  put_read(7, 7);
  EXPECT_FALSE(cache.contains(3));
  EXPECT_EQ((*kept)[0], 3);  // an evicted chunk stays valid for whoever holds it
  cache.put(7, chunk(9));
  EXPECT_EQ((*cache.get(7))[0], 9);
  EXPECT_EQ(cache.size(), 3u);
  // A retired chunk goes first, before older ones.
  cache.retire(7);
  put_read(8, 8);
  EXPECT_FALSE(cache.contains(7));
  EXPECT_TRUE(cache.contains(5) && cache.contains(6) && cache.contains(8));
}

// Chunks whose first and last bytes were taken go first, then chunks taken
// in part (a read across two chunks takes the end of one), and read-ahead no
// reader took yet last, the farthest first: dropping it fetches it twice.
TEST(HttpChunkCache, KeepsReadAheadUntilTaken) {
  ChunkCache cache(3);
  auto chunk = [](uint8_t v) { return std::make_shared<const std::vector<uint8_t>>(4, v); };
  cache.put(1, chunk(1));  // read-ahead, not taken yet
  cache.put(2, chunk(2));
  cache.taken(2, 0, 4);
  cache.put(3, chunk(3));
  cache.put(4, chunk(4));
  EXPECT_FALSE(cache.contains(2));  // taken whole, though 1 is older
  EXPECT_TRUE(cache.contains(1) && cache.contains(3) && cache.contains(4));
  cache.taken(1, 1, 3);  // its end only
  EXPECT_FALSE(cache.taken(3, 0, 2));
  EXPECT_TRUE(cache.taken(3, 2, 2));  // whole, in two reads
  cache.put(5, chunk(5));
  EXPECT_FALSE(cache.contains(3));
  cache.put(6, chunk(6));  // then the one taken in part
  EXPECT_FALSE(cache.contains(1));
  cache.put(7, chunk(7));  // none taken: the farthest but the one put
  EXPECT_FALSE(cache.contains(6));
  EXPECT_TRUE(cache.contains(4) && cache.contains(5) && cache.contains(7));
  EXPECT_EQ(cache.awaited(), 3u);
  // Readers are past 5 now: 4 and 5 will not be read, the oldest goes.
  cache.keep_from(6);
  EXPECT_EQ(cache.awaited(), 1u);
  cache.put(8, chunk(8));
  EXPECT_FALSE(cache.contains(4));
  EXPECT_TRUE(cache.contains(5) && cache.contains(7) && cache.contains(8));
}

TEST(HttpChunkCache, KeepsFewRetiredChunks) {
  ChunkCache cache(4, 2);
  auto chunk = [](uint8_t v) { return std::make_shared<const std::vector<uint8_t>>(4, v); };
  for (uint8_t i = 1; i <= 4; ++i) cache.put(i, chunk(i));
  cache.retire(2);
  cache.retire(1);
  EXPECT_EQ(cache.size(), 4u);
  cache.retire(3);  // a third: the oldest retired (2) goes at once
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.contains(2));
  ASSERT_TRUE(cache.get(1));  // read again: no longer retired
  cache.put(5, chunk(5));
  cache.put(6, chunk(6));  // full: the retired one (3) goes before older live ones
  EXPECT_FALSE(cache.contains(3));
  EXPECT_TRUE(cache.contains(1) && cache.contains(4) && cache.contains(5) && cache.contains(6));
  // Chunks on their way take their room at once (here the one read, then
  // the farthest never read); each put gives one back.
  cache.reserve(2);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.contains(1) || cache.contains(6));
  cache.put(7, chunk(7));
  cache.put(8, chunk(8));
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_TRUE(cache.contains(4) && cache.contains(5) && cache.contains(7) && cache.contains(8));
}

}  // namespace
}  // namespace qflash
