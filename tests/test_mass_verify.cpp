// engine/verify: a target read back matches the CRCs the writer recorded,
// and a target altered after writing is caught at the right place.
#include <gtest/gtest.h>

#include "engine/write/mass_writer.h"
#include "engine/write/verify.h"
#include "tests/support/loop_device.h"
#include "tests/support/mass_support.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

struct Written {
  std::vector<WrittenPiece> pieces;
  uint64_t size = 0;
  Target target;  // held open: verify reads what was written
};

// Writes `img` onto `target` through write_image with digests recorded.
Written write_with_digest(const std::string& img, const std::string& target) {
  auto chain = Chain::open(img);
  EXPECT_TRUE(chain.ok());
  EXPECT_TRUE(chain->validate().ok());
  auto t = open_target(target, chain->size(), {.allow_block_device = true});
  EXPECT_TRUE(t.ok()) << t.error().message;
  std::vector<WriteTarget> targets;
  targets.push_back({std::move(t).value(), 0, chain->size()});
  WriteOptions options;
  options.record_digest = true;
  auto report = write_image(*chain, targets, options);
  EXPECT_TRUE(report.ok());
  EXPECT_TRUE(report->targets[0].status.ok()) << report->targets[0].status.error().message;
  uint64_t covered = 0;
  for (const auto& p : report->targets[0].pieces) covered += p.length;
  EXPECT_EQ(covered, chain->size()) << "the pieces cover the whole target";
  return {report->targets[0].pieces, chain->size(), std::move(targets[0].target)};
}

std::string make_image(const ScratchDir& dir) {
  std::string img = dir / "disk.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 24M");
  must("qemu-io -c 'write -P 0x21 0 5M' -c 'write -c -P 0x9c 9M 2M' -c 'write -z 12M 1M' " + img);
  return img;
}

void expect_mismatch_at(const Written& w, uint64_t offset) {
  auto v = verify_target(w.target, w.pieces);
  ASSERT_TRUE(v.ok()) << v.error().message;
  ASSERT_TRUE(v->mismatch.has_value()) << "change at " << offset << " not caught";
  EXPECT_LE(v->mismatch->offset, offset);
  EXPECT_GT(v->mismatch->offset + v->mismatch->length, offset);
}

TEST(MassVerify, FileTargetPassesThenCatchesChanges) {
  ScratchDir dir;
  std::string img = make_image(dir), target = dir / "t.raw";
  Written w = write_with_digest(img, target);
  qemu_raw(img, dir / "want.raw");
  ASSERT_EQ(first_difference(dir / "want.raw", target), -1);
  auto v = verify_target(w.target, w.pieces);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_FALSE(v->mismatch.has_value());

  // A byte in a hole (zero run) and, earlier, one in the data: the first wins.
  flip_byte(target, 15u << 20);
  expect_mismatch_at(w, 15u << 20);
  flip_byte(target, (9u << 20) + 777);
  expect_mismatch_at(w, (9u << 20) + 777);

  // A target cut short is caught where it ends.
  write_with_digest(img, target);
  fs::resize_file(target, (20u << 20) + 100);
  expect_mismatch_at(w, (20u << 20) + 100);

  // The file the run wrote is read back, not whatever the name means now.
  fs::rename(target, dir / "moved.raw");
  write_file(target, read_file(dir / "want.raw"));
  expect_mismatch_at(w, (20u << 20) + 100);
}

TEST(MassVerify, BlockDeviceReadWithODirect) {
  ScratchDir dir;
  std::string img = make_image(dir);
  write_file(dir / "disk.img", std::vector<uint8_t>(32u << 20, 0xff));
  LoopDevice loop(dir / "disk.img", {.required = true});
  ASSERT_FALSE(loop.path().empty());
  Written w = write_with_digest(img, loop.path());
  auto v = verify_target(w.target, w.pieces);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_FALSE(v->mismatch.has_value());
  // Change one byte on the device, past the data.
  flip_byte(loop.path(), 22u << 20);
  expect_mismatch_at(w, 22u << 20);
}

TEST(MassVerify, ClosedTargetIsAnError) {
  ScratchDir dir;
  std::vector<WrittenPiece> pieces{{0, 4096, 0}};
  Target closed;
  closed.path = dir / "nothing";
  auto v = verify_target(closed, pieces);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("nothing"), std::string::npos);
}

}  // namespace
}  // namespace qflash::test
