// The first end-to-end check: one image written by qflash equals qemu-img's raw.
#include <gtest/gtest.h>

#include "tests/support/support.h"

namespace qflash::test {

TEST(Smoke, WriteEqualsQemuRaw) {
  ScratchDir dir;
  std::string img = dir / "a.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 4M");
  must("qemu-io -c 'write -P 0x5a 0 1M' -c 'write -P 0x11 2M 64k' " + img);
  qemu_raw(img, dir / "want.raw");
  must(qflash_bin() + " write " + img + " " + (dir / "got.raw"));
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "got.raw"), -1);
}

}  // namespace qflash::test
