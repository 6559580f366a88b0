// qflash station: flash every drive plugged into an allowed slot, as it is
// plugged in, until stopped (or --count good drives).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tools/cli/cli.h"
#include "tools/cli/options.h"
#include "tools/cli/station.h"
#include "tools/qflash/commands.h"

namespace qflash::cli {
namespace {

const char kHelp[] =
    "Usage: qflash station IMAGE --slot PATTERN [--slot PATTERN ...] [options]\n"
    "Watches for drives and writes IMAGE onto every drive that appears in an\n"
    "allowed slot: write, verify by read-back, flush, then 'done - remove the\n"
    "drive'; the slot is ready again once the drive is pulled. Drives present\n"
    "at start count as plugged in. Never writes the disk holding / or /boot,\n"
    "swap, a drive with a mounted or in-use partition, or a drive too small.\n"
    "A PATTERN (shell glob) matches a drive's slot (usb-1-1.3, ata-2, scsi-6:0,\n"
    "pci-0000:03:00.0, loop:/path/of/backing/file), its /dev/disk/by-path\n"
    "name, its device path (/dev/sdb) or a loop device's backing file.\n"
    "Exit status: 0 no drive failed, 1 bad usage or image (no drive failed),\n"
    "2 a drive failed, 130 a signal stopped a drive mid-way.\n"
    "SIGINT, SIGTERM, SIGHUP stop cleanly with a report; SIGUSR1 prints a status line.\n\n"
    "      --slot=PATTERN    allowed slot (repeatable; required)\n"
    "      --slot-names=FILE 'SLOT LABEL' lines naming the slots (e.g. 'usb-1-1.3 A1')\n"
    "      --count=N         stop after N good drives\n"
    "      --no-verify       do not read drives back\n"
    "      --events          JSON lines on stdout: state changes, progress every second\n"
    "      --log=FILE        append one JSON line per drive to FILE (audit)\n"
    "      --sha256=HEX      the image file's published SHA-256: a drive is made\n"
    "                        bootable (its first MiB written) only once it matched\n"
    "      --checksums=FILE  a SHA256SUMS file listing the image's SHA-256\n"
    "      --sparse          skip zero regions (pre-zeroed drives)\n"
    "      --wipe-rest       zero the part of a larger drive past the image\n"
    "      --memory=SIZE     buffer memory (default 256M)\n"
    "      --jobs=N          decompression threads (default: one per CPU)\n"
    "      --queue-depth=N   I/O requests in flight (default 64)\n"
    QFLASH_IMAGE_OPTIONS_HELP
    "      --debug           internals to stderr\n"
    "  -h, --help            this help\n"
    "  -V, --version         print the version\n";

}  // namespace

int cmd_station(int argc, char** argv) {
  StationRequest req;
  StationConfig& c = req.config;
  std::vector<std::string> pos;
  std::vector<OptionSpec> options = with_image_options({
      {"slot", true, [&c](const char* v) { c.slots.push_back(v); return true; }},
      {"slot-names", true, [&req](const char* v) { req.slot_names_file = v; return true; }},
      {"count", true,
       [&c](const char* v) {
         return parse_whole_number("qflash station", "count", v, 1, UINT64_MAX, c.count);
       }},
      {"no-verify", false, [&c](const char*) { c.verify = false; return true; }},
      {"events", false, [&req](const char*) { return req.events = true; }},
      {"log", true, [&req](const char* v) { req.log = v; return true; }},
      {"sparse", false, [&c](const char*) { return c.write.sparse = true; }},
      {"memory", true,
       [&c](const char* v) {
         auto size = parse_size(v);
         if (!size || *size < (1u << 20)) {
           std::fprintf(stderr, "qflash station: --memory wants a size of at least 1M, not '%s'\n", v);
           return false;
         }
         c.write.memory = *size;
         return true;
       }},
      {"jobs", true,
       [&c](const char* v) {
         uint64_t n;
         if (!parse_whole_number("qflash station", "jobs", v, 1, 1024, n)) return false;
         c.write.jobs = unsigned(n);
         c.source.decode_threads = unsigned(n);
         return true;
       }},
      {"queue-depth", true,
       [&c](const char* v) {
         uint64_t n;
         if (!parse_whole_number("qflash station", "queue-depth", v, 1, 4096, n)) return false;
         c.write.queue_depth = unsigned(n);
         return true;
       }},
      {"wipe-rest", false, [&c](const char*) { return c.write.wipe_rest = true; }},
  }, "qflash station", c.source);
  for (auto& spec : digest_options("qflash station", c.write.image_sha256, req.checksums))
    options.push_back(std::move(spec));
  int rc = parse_options(argc, argv, "qflash station", kHelp, options, pos);
  if (rc >= 0) return rc;
  if (pos.size() != 1) {
    std::fprintf(stderr, "qflash station: expected one IMAGE\n%s", kHelp);
    return kBadInput;
  }
  if (c.slots.empty()) {
    std::fprintf(stderr,
                 "qflash station: refusing to start without --slot: name the slots whose drives "
                 "may be overwritten\n");
    return kBadInput;
  }
  c.image = pos[0];
  return station("qflash station", req);
}

}  // namespace qflash::cli
