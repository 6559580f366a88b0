// qflash map: the allocation map, interchangeable with qemu-img map's.
#include <cstdio>

#include "engine/chain/map.h"
#include "tools/cli/cli.h"
#include "tools/cli/options.h"
#include "tools/qflash/commands.h"

namespace qflash::cli {
namespace {

const char kHelp[] =
    "Usage: qflash map IMAGE [--output=human|json] [--header=H]... [--debug]\n"
    "Prints the allocation map of the virtual disk. The JSON is a list of\n"
    "{start, length, depth, present, zero, data, offset} with the meaning of\n"
    "'qemu-img map --output=json'.\n"
    "Options for IMAGE (an http(s):// URL, a raw or compressed raw image):\n"
    QFLASH_IMAGE_OPTIONS_HELP;

}  // namespace

int cmd_map(int argc, char** argv) {
  bool json = false;
  SourceOptions source;
  std::vector<std::string> pos;
  int rc = parse_options(argc, argv, "qflash map", kHelp,
                         with_image_options({output_option("qflash map", json)}, "qflash map", source),
                         pos);
  if (rc >= 0) return rc;
  auto chain = open_image_arg(pos, kHelp, source, rc);
  if (!chain) return rc;
  auto map = build_map(*chain);
  if (!map) return fail("qflash", map.error());
  if (json) {
    std::fputs(map_to_json(*map).c_str(), stdout);
    return kOk;
  }
  std::string text;
  Status st = map_to_text(*map, chain->name(), text);
  // Line by line: file names in it come from images.
  for (size_t at = 0, end; at < text.size(); at = end + 1) {
    end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::printf("%s\n", terminal_safe(std::string_view(text).substr(at, end - at)).c_str());
  }
  std::fflush(stdout);
  return st ? kOk : fail("qflash", st.error());
}

}  // namespace qflash::cli
