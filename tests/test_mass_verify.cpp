// engine/verify: a target read back through its own descriptor has the
// SHA-256 the writer recorded; a flipped byte, in data or in a zero run, on
// a file or a block device, and a target cut short are caught.
#include <gtest/gtest.h>

#include "engine/write/mass_writer.h"
#include "engine/write/verify.h"
#include "tests/support/loop_device.h"
#include "tests/support/mass_support.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

std::string make_image(const ScratchDir& dir) {
  std::string img = dir / "disk.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 24M");
  must("qemu-io -c 'write -P 0x21 0 5M' -c 'write -c -P 0x9c 9M 2M' -c 'write -z 12M 1M' " + img);
  return img;
}

// Writes `img` onto `target` and returns the target (its descriptors) and
// the report.
std::pair<std::vector<WriteTarget>, WriteReport> write(const std::string& img, const std::string& target) {
  auto chain = Chain::open(img);
  EXPECT_TRUE(chain.ok());
  auto t = open_target(target, chain->size(), {.allow_block_device = true});
  EXPECT_TRUE(t.ok()) << t.error().message;
  std::vector<WriteTarget> targets;
  targets.push_back({std::move(t).value(), 0, chain->size()});
  auto report = write_image(*chain, targets, {});
  EXPECT_TRUE(report.ok());
  EXPECT_TRUE(report->targets[0].complete) << report->targets[0].status.error().message;
  return {std::move(targets), std::move(report).value()};
}

TEST(MassVerify, FileTargetPassesThenCatchesFlippedBytes) {
  ScratchDir dir;
  std::string img = make_image(dir), target = dir / "t.raw";
  auto [targets, report] = write(img, target);
  auto v = verify_targets(targets, report);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].checked);
  EXPECT_TRUE(v[0].status.ok()) << v[0].status.error().message;

  // One byte in a zero run, then one in the data.
  for (uint64_t at : {uint64_t(15u << 20), uint64_t((9u << 20) + 777)}) {
    flip_byte(target, at);
    v = verify_targets(targets, report);
    ASSERT_FALSE(v[0].status.ok()) << "flipped byte at " << at << " not caught";
    EXPECT_NE(v[0].status.error().message.find("SHA-256"), std::string::npos);
    flip_byte(target, at);
  }
  // A target cut short.
  fs::resize_file(target, (20u << 20) + 100);
  v = verify_targets(targets, report);
  ASSERT_FALSE(v[0].status.ok());
  EXPECT_NE(v[0].status.error().message.find("ends at"), std::string::npos) << v[0].status.error().message;
}

TEST(MassVerify, BlockDeviceReadWithODirect) {
  ScratchDir dir;
  std::string img = make_image(dir);
  write_file(dir / "disk.img", std::vector<uint8_t>(32u << 20, 0xff));
  LoopDevice loop(dir / "disk.img", {.required = true});
  ASSERT_FALSE(loop.path().empty());
  auto [targets, report] = write(img, loop.path());
  auto v = verify_targets(targets, report);
  EXPECT_TRUE(v[0].status.ok()) << v[0].status.error().message;
  flip_byte(loop.path(), 28u << 20);
  v = verify_targets(targets, report);
  EXPECT_TRUE(v[0].status.ok()) << "past the image: not part of the digest";
  flip_byte(loop.path(), 12u << 20);  // a zero run the device zeroed
  v = verify_targets(targets, report);
  EXPECT_FALSE(v[0].status.ok());
}

TEST(MassVerify, IncompleteTargetIsNotRead) {
  ScratchDir dir;
  std::string img = make_image(dir);
  auto [targets, report] = write(img, dir / "t.raw");
  report.targets[0].complete = false;
  auto v = verify_targets(targets, report);
  EXPECT_FALSE(v[0].checked);
}

}  // namespace
}  // namespace qflash::test
