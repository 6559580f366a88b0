#include "tools/cli/flash.h"

#include <unistd.h>

#include <cstdio>

#include "tools/cli/cli.h"

namespace qflash::cli {

int flash(const char* prog, FlashRequest& req) {
  auto chain = Chain::open(req.image, req.source);
  if (!chain) return fail(prog, chain.error());
  if (auto st = chain->validate(); !st) return fail(prog, st.error());

  std::vector<std::string> devices;
  for (const auto& path : req.targets) {
    dev_t dev;
    ino_t ino;
    bool blk;
    if (!stat_identity(path, dev, ino, blk)) continue;
    for (const Source* f : chain->files())
      if (f->same_file(dev, ino))
        return fail(prog, usage(path + ": is " + f->name() + ", part of the image being read"));
    if (blk) devices.push_back(path);
  }
  if (!req.yes && !confirm_block_devices(prog, devices)) return kBadInput;

  std::vector<WriteTarget> targets;
  for (const auto& path : req.targets) {
    auto t = open_target(path, chain->size(), {.allow_block_device = true});
    if (!t) return fail(prog, t.error());
    targets.push_back({std::move(t).value(), 0, chain->size()});
  }
  auto report = write_image(*chain, targets, req.write);
  if (!report) return fail(prog, report.error());
  if (auto st = chain->check_unchanged(); !st) return fail(prog, st.error());
  int failed = 0;
  for (const auto& r : report->targets)
    if (!r.status) {
      std::fprintf(stderr, "%s: %s\n", prog, r.status.error().message.c_str());
      ++failed;
    }
  if (report->interrupted) return kInterrupted;
  return failed ? kTargetsFailed : kOk;
}

}  // namespace qflash::cli
