// The QCOW2 layer's pure parts in memory: index arithmetic, L2 entry
// decoding (as qemu's qcow2_get_subcluster_type), the L2 slice cache, and
// lookups and reads through an image built by hand on a MemorySource.
#include <gtest/gtest.h>
#include <libdeflate.h>

#include <cstring>

#include "engine/chain/chain.h"
#include "engine/chain/reader.h"
#include "engine/qcow2/l2_cache.h"
#include "engine/qcow2/l2_entry.h"
#include "engine/qcow2/qcow2_header.h"
#include "engine/qcow2/qcow2_layer.h"
#include "io/base/endian.h"
#include "tests/support/memory_source.h"

namespace qflash::test {
namespace {

using Type = SubclusterType;

void store_be32(uint8_t* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = uint8_t(v);
}
void store_be64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = uint8_t(v);
}

TEST(Qcow2Index, NamedAsQemuNamesIt) {
  Qcow2Header h;
  h.cluster_bits = 16;  // 64 KiB clusters, 8192 entries per L2 table
  EXPECT_EQ(offset_to_l1_index(h, (512ull << 20) - 1), 0u);
  EXPECT_EQ(offset_to_l1_index(h, 512ull << 20), 1u);
  EXPECT_EQ(offset_to_l2_index(h, (512ull << 20) + 3 * 65536 + 17), 3u);
  EXPECT_EQ(offset_into_cluster(h, 3 * 65536 + 17), 17u);
  EXPECT_EQ(start_of_cluster(h, 3 * 65536 + 17), 3u * 65536);
  EXPECT_EQ(size_to_clusters(h, 65537), 2u);
  EXPECT_EQ(size_to_l1(h, (512ull << 20) + 1), 2u);
  EXPECT_EQ(l1_entry_span(h), 512ull << 20);
  EXPECT_EQ(subclusters_per_cluster(h), 1u);
  h.incompatible_features = kIncompatExtendedL2;  // 4096 entries, 2 KiB subclusters
  EXPECT_EQ(l1_entry_span(h), 256ull << 20);
  EXPECT_EQ(subclusters_per_cluster(h), 32u);
  EXPECT_EQ(offset_to_sc_index(h, 65536 + 5 * 2048 + 1), 5u);
}

TEST(L2EntryDecoding, StandardEntries) {
  const uint64_t host = 0x50000;
  EXPECT_EQ((L2Entry{kL2Copied | host}.type(false, false, 0)), Type::Normal);
  EXPECT_EQ((L2Entry{0}.type(false, false, 0)), Type::UnallocatedPlain);
  EXPECT_EQ((L2Entry{kL2Zero}.type(false, false, 0)), Type::ZeroPlain);
  EXPECT_EQ((L2Entry{host | kL2Zero}.type(false, false, 0)), Type::ZeroAlloc);
  EXPECT_EQ((L2Entry{kL2Compressed | 1234}.type(false, false, 0)), Type::Compressed);
  // External data file: offset 0 with the copied bit is a cluster, except
  // in a zero entry (qemu's qcow2_get_cluster_type).
  EXPECT_EQ((L2Entry{kL2Copied}.type(false, true, 0)), Type::Normal);
  EXPECT_EQ((L2Entry{kL2Copied}.type(false, false, 0)), Type::UnallocatedPlain);
  EXPECT_EQ((L2Entry{kL2Copied | kL2Zero}.type(false, true, 0)), Type::ZeroPlain);
}

TEST(L2EntryDecoding, ExtendedEntries) {
  const uint64_t host = kL2Copied | 0x80000;
  const uint64_t alloc3 = 1ull << 3, zero3 = 1ull << 35;
  EXPECT_EQ((L2Entry{host, alloc3}.type(true, false, 3)), Type::Normal);
  EXPECT_EQ((L2Entry{host, alloc3}.type(true, false, 4)), Type::UnallocatedAlloc);
  EXPECT_EQ((L2Entry{host, zero3}.type(true, false, 3)), Type::ZeroAlloc);
  EXPECT_EQ((L2Entry{0, zero3}.type(true, false, 3)), Type::ZeroPlain);
  EXPECT_EQ((L2Entry{0, 0}.type(true, false, 3)), Type::UnallocatedPlain);
  // Both bits of one subcluster, or allocation without a cluster: invalid
  // for every subcluster of the entry.
  EXPECT_EQ((L2Entry{host, alloc3 | zero3}.type(true, false, 7)), Type::Invalid);
  EXPECT_EQ((L2Entry{0, alloc3}.type(true, false, 7)), Type::Invalid);
  // The zero bit of the standard entry means nothing in extended L2.
  EXPECT_EQ((L2Entry{host | kL2Zero, alloc3}.type(true, false, 3)), Type::Normal);
}

TEST(L2EntryDecoding, CompressedDescriptor) {
  // 64 KiB clusters: 8 bits of additional sectors above a 54-bit offset.
  const unsigned shift = 62 - (16 - 8);
  const uint64_t word = kL2Compressed | (uint64_t{3} << shift) | 0x12345;
  const CompressedRef ref = compressed_ref(word, 16);
  EXPECT_EQ(ref.host, 0x12345u);
  EXPECT_EQ(ref.size, 4 * 512 - (0x12345u & 511));
}

// A MemorySource that counts its reads.
class CountingSource final : public Source {
 public:
  explicit CountingSource(std::span<const uint8_t> bytes) : inner_(bytes) {}
  Result<size_t> read_at(std::span<uint8_t> buf, uint64_t offset) const override {
    ++reads;
    return inner_.read_at(buf, offset);
  }
  uint64_t size() const override { return inner_.size(); }
  const std::string& name() const override { return inner_.name(); }
  std::string resolve(const std::string& r) const override { return inner_.resolve(r); }
  mutable int reads = 0;

 private:
  MemorySource inner_;
};

TEST(L2SliceCache, KeepsTheMostRecentlyUsedWithinItsBudget) {
  std::vector<uint8_t> bytes(8 * 512);
  for (size_t i = 0; i < bytes.size(); i += 8) store_be64(&bytes[i], i);
  CountingSource src(bytes);
  L2Cache cache(512, 2 * 512);
  auto a = cache.get(src, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ((**a)[3], 24u);  // decoded to host byte order
  ASSERT_TRUE(cache.get(src, 512));
  ASSERT_TRUE(cache.get(src, 0));  // a hit: 0 is now the most recent
  EXPECT_EQ(src.reads, 2);
  ASSERT_TRUE(cache.get(src, 1024));  // evicts 512
  ASSERT_TRUE(cache.get(src, 0));
  EXPECT_EQ(src.reads, 3);
  ASSERT_TRUE(cache.get(src, 512));
  EXPECT_EQ(src.reads, 4);
  EXPECT_EQ((**a)[3], 24u);  // a slice held stays valid after eviction
  EXPECT_FALSE(cache.get(src, 64 * 512)) << "a slice past the end is an error";
}

// An image of 512-byte clusters built by hand: 64 KiB virtual, two L1
// entries of 32 KiB each, the second without an L2 table.
//   cluster 0: header; 1: L1; 2: refcount table; 3: L2 table; 8-9: data;
//   10: a deflate stream of 512 bytes of 0x77.
// Guest clusters: 0-1 data (contiguous on the host), 2 zero, 3 unallocated,
// 4 compressed, the rest unallocated.
std::vector<uint8_t> hand_made_image() {
  std::vector<uint8_t> img(11 * 512);
  uint8_t* h = img.data();
  store_be32(h, kQcow2Magic);
  store_be32(h + 4, 3);
  store_be32(h + 20, 9);          // cluster_bits
  store_be64(h + 24, 64 * 1024);  // size
  store_be32(h + 36, 2);          // l1_size
  store_be64(h + 40, 512);        // l1_table_offset
  store_be64(h + 48, 1024);       // refcount_table_offset
  store_be32(h + 56, 1);          // refcount_table_clusters
  store_be32(h + 96, 4);          // refcount_order
  store_be32(h + 100, 104);       // header_length
  store_be64(&img[512], kL2Copied | 3 * 512);
  uint8_t* l2 = &img[3 * 512];
  store_be64(l2 + 0, kL2Copied | 8 * 512);
  store_be64(l2 + 8, kL2Copied | 9 * 512);
  store_be64(l2 + 16, kL2Zero);
  std::memset(&img[8 * 512], 0x11, 512);
  std::memset(&img[9 * 512], 0x22, 512);
  const std::vector<uint8_t> plain(512, 0x77);
  libdeflate_compressor* c = libdeflate_alloc_compressor(6);
  const size_t n = libdeflate_deflate_compress(c, plain.data(), plain.size(), &img[10 * 512], 512);
  libdeflate_free_compressor(c);
  EXPECT_GT(n, 0u);
  // 512-byte clusters: one bit of additional sectors, at bit 61.
  store_be64(l2 + 32, kL2Compressed | 10 * 512);
  return img;
}

TEST(Qcow2Lookups, StatusOfEachKindOfCluster) {
  const auto bytes = hand_made_image();
  auto layer = open_qcow2_layer(std::make_shared<MemorySource>(bytes, "hand.qcow2"), {});
  ASSERT_TRUE(layer) << layer.error().message;
  Layer& l = **layer;
  ASSERT_TRUE(l.validate());
  EXPECT_EQ(l.size(), 64u * 1024);

  auto st = l.status(100, 64 * 1024 - 100);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->kind, LayerStatus::Kind::Data);
  EXPECT_EQ(st->host, 8u * 512 + 100);
  EXPECT_EQ(st->length, 1024u - 100);  // two clusters contiguous on the host

  st = l.status(1024, 4096);
  EXPECT_EQ(st->kind, LayerStatus::Kind::Zero);
  EXPECT_EQ(st->length, 512u);
  st = l.status(1536, 4096);
  EXPECT_EQ(st->kind, LayerStatus::Kind::Unallocated);
  EXPECT_EQ(st->length, 512u);

  st = l.status(2048 + 300, 4096);
  EXPECT_EQ(st->kind, LayerStatus::Kind::Compressed);
  EXPECT_EQ(st->host, 10u * 512);
  EXPECT_EQ(st->skip, 300u);
  EXPECT_EQ(st->length, 512u - 300);
  EXPECT_EQ(st->cluster_size, 512u);

  st = l.status(2560, 64 * 1024 - 2560);  // to the end of the first table
  EXPECT_EQ(st->kind, LayerStatus::Kind::Unallocated);
  EXPECT_EQ(st->length, 32u * 1024 - 2560);
  st = l.status(32 * 1024, 32 * 1024);  // no L2 table at all
  EXPECT_EQ(st->kind, LayerStatus::Kind::Unallocated);
  EXPECT_EQ(st->length, 32u * 1024);
}

TEST(Qcow2Lookups, ReadThroughTheChain) {
  const auto bytes = hand_made_image();
  auto chain = Chain::open_alone(std::make_shared<MemorySource>(bytes, "hand.qcow2"));
  ASSERT_TRUE(chain) << chain.error().message;
  ASSERT_TRUE(chain->validate());
  std::vector<uint8_t> got(4096);
  Reader reader(*chain);
  ASSERT_TRUE(reader.read(got, 0));
  std::vector<uint8_t> want(4096, 0);
  std::memset(&want[0], 0x11, 512);
  std::memset(&want[512], 0x22, 512);
  std::memset(&want[2048], 0x77, 512);
  EXPECT_EQ(got, want);
}

TEST(Qcow2Lookups, RefusesWhatQemuRefuses) {
  auto bytes = hand_made_image();
  store_be64(&bytes[3 * 512 + 24], kL2Copied | 200 * 512);  // data past the end
  auto layer = open_qcow2_layer(std::make_shared<MemorySource>(bytes, "hand.qcow2"), {});
  ASSERT_TRUE(layer);
  auto st = (*layer)->validate();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("data cluster at 0x19000 lies past the end"),
            std::string::npos)
      << st.error().message;
}

}  // namespace
}  // namespace qflash::test
