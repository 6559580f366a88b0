// mass_driver IMAGE TARGET...: write_image onto every target with default
// options, no safety checks or prompts. Lets bench/side-by-side.sh time the
// engine on N targets where qflash-mass is not built.
#include <cstdio>

#include "engine/mass_writer.h"

int main(int argc, char** argv) {
  using namespace qflash;
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s IMAGE TARGET...\n", argv[0]);
    return 1;
  }
  auto chain = Chain::open(argv[1]);
  if (!chain) return std::fprintf(stderr, "%s\n", chain.error().message.c_str()), 1;
  if (auto st = chain->validate(); !st) return std::fprintf(stderr, "%s\n", st.error().message.c_str()), 1;
  std::vector<WriteTarget> targets;
  for (int i = 2; i < argc; ++i) {
    auto t = open_target(argv[i], chain->size(), {.allow_block_device = true});
    if (!t) return std::fprintf(stderr, "%s\n", t.error().message.c_str()), 1;
    targets.push_back({std::move(t).value(), 0, chain->size()});
  }
  auto report = write_image(*chain, targets, {});
  if (!report) return std::fprintf(stderr, "%s\n", report.error().message.c_str()), 1;
  int failed = 0;
  for (const auto& r : report->targets)
    if (!r.status) failed = std::fprintf(stderr, "%s\n", r.status.error().message.c_str());
  std::printf("%.3f s\n", report->seconds);
  return failed ? 2 : 0;
}
