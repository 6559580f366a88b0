// flash_example: flashes an image with the public API alone (<qflash/qflash.h>),
// the way a provisioning service would. Built by the tree (tests run it) and
// by tests/install/ against an installed libqflash.
//
//   flash_example IMAGE TARGET [PARTITION]
//
// Opens IMAGE (a path or http(s) URL) with its backing chain, prints what it
// is, writes it (or partition PARTITION of it) onto TARGET (a file, or a
// block device: this example does not ask), verifies, and prints the report.
// Exit status 0 when TARGET was written and verified, 1 otherwise.
#include <qflash/qflash.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: flash_example IMAGE TARGET [PARTITION]\n");
    return 1;
  }
  // The library prints nothing; its warnings come here.
  qflash::set_log_sink(
      [](qflash::LogLevel, std::string_view line) {
        std::fprintf(stderr, "warning: %.*s\n", int(line.size()), line.data());
      },
      qflash::LogLevel::Warning);

  auto image = qflash::Image::open(argv[1]);
  if (!image) {
    std::fprintf(stderr, "%s\n", image.error().message.c_str());
    return 1;
  }
  const qflash::ImageInfo info = image->info();
  std::printf("%s: %s, %s, %zu file(s) in its chain\n", image->name().c_str(), info.format.c_str(),
              qflash::human_size(image->size()).c_str(), info.chain.size());

  qflash::FlashTarget target{argv[2], argc == 4 ? unsigned(std::atoi(argv[3])) : 0u};
  qflash::FlashOptions options;
  options.allow_block_devices = true;
  options.verify = true;
  options.memory = 16 << 20;
  auto report = qflash::flash(*image, {target}, options);
  if (!report) {
    std::fprintf(stderr, "%s\n", report.error().message.c_str());
    return 1;
  }
  const qflash::FlashTargetReport& t = report->targets.at(0);
  std::printf("%s: %s, %s written in %.3f s, %s\n", t.path.c_str(),
              t.status ? "ok" : t.status.error().message.c_str(),
              qflash::human_size(t.bytes).c_str(), t.seconds,
              t.verified.value_or(false) ? "verified" : "not verified");
  if (!t.status || !t.verified.value_or(false)) return 1;
  // A second, independent check: the target's bytes read back against the image's.
  if (auto same = qflash::verify(*image, target); !same) {
    std::fprintf(stderr, "%s\n", same.error().message.c_str());
    return 1;
  }
  std::printf("qflash %s: done\n", qflash::version());
  return 0;
}
