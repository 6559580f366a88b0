// qflash map: the allocation map, interchangeable with qemu-img map's.
#include <cstdio>

#include "engine/map.h"
#include "tools/cli/cli.h"
#include "tools/cli/options.h"
#include "tools/qflash/commands.h"

namespace qflash::cli {
namespace {

const char kHelp[] =
    "Usage: qflash map IMAGE [--output=human|json] [--debug]\n"
    "Prints the allocation map of the virtual disk. The JSON is a list of\n"
    "{start, length, depth, present, zero, data, offset} with the meaning of\n"
    "'qemu-img map --output=json'.\n";

}  // namespace

int cmd_map(int argc, char** argv) {
  bool json = false;
  std::vector<std::string> pos;
  int rc = parse_options(argc, argv, "qflash map", kHelp,
                         {{"output", true, [&](const char* v) {
                             json = std::string(v) == "json";
                             if (json || std::string(v) == "human") return true;
                             std::fprintf(stderr, "qflash map: --output is human or json\n");
                             return false;
                           }}},
                         pos);
  if (rc >= 0) return rc;
  if (pos.size() != 1) {
    std::fputs(kHelp, stderr);
    return kBadInput;
  }
  auto chain = Chain::open(pos[0]);
  if (!chain) return fail("qflash", chain.error());
  auto map = build_map(*chain);
  if (!map) return fail("qflash", map.error());
  if (json) {
    std::fputs(map_to_json(*map).c_str(), stdout);
    return kOk;
  }
  std::string text;
  Status st = map_to_text(*map, chain->name(), text);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  return st ? kOk : fail("qflash", st.error());
}

}  // namespace qflash::cli
