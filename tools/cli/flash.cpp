#include "tools/cli/flash.h"

#include <unistd.h>

#include <cstdio>

#include "tools/cli/cli.h"

namespace qflash::cli {

int flash(const char* prog, FlashRequest& req) {
  auto chain = Chain::open(req.image, req.source);
  if (!chain) return fail(prog, chain.error());
  if (auto st = chain->validate(); !st) return fail(prog, st.error());

  std::vector<std::pair<uint64_t, uint64_t>> ranges(req.targets.size(), {0, chain->size()});
  if (!req.partitions.numbers.empty()) {
    auto r = partition_ranges(prog, *chain, req.partitions, req.targets.size());
    if (!r) return fail(prog, r.error());
    ranges = std::move(r).value();
  }

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
  for (size_t i = 0; i < req.targets.size(); ++i) {
    auto t = open_target(req.targets[i], ranges[i].second, {.allow_block_device = true});
    if (!t) return fail(prog, t.error());
    targets.push_back({std::move(t).value(), ranges[i].first, ranges[i].second});
  }
  auto report = write_image(*chain, targets, req.write);
  if (!report) return fail(prog, report.error());
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
