#include "tests/support/loop_device.h"

#include <gtest/gtest.h>

#include "tests/support/support.h"

namespace qflash::test {

LoopDevice::LoopDevice(const std::string& file, LoopOptions options) {
  std::string cmd = "losetup -f --show";
  if (options.sector_size) cmd += " --sector-size " + std::to_string(options.sector_size);
  if (options.direct_io) cmd += " --direct-io=on";
  if (options.partitions) cmd += " -P";
  CommandResult r = run(cmd + " " + quote(file));
  if (r.status == 0 && !r.out.empty()) path_ = r.out.substr(0, r.out.find('\n'));
  if (!ok() && options.required) ADD_FAILURE() << "could not set up a loop device: " << r.err;
}

LoopDevice::~LoopDevice() {
  if (ok() && run("losetup -d " + quote(path_)).status != 0)
    ADD_FAILURE() << "could not detach " << path_;
}

}  // namespace qflash::test
