// qflash read: raw bytes of the virtual disk to stdout.
#include <unistd.h>

#include <cstdio>

#include "engine/chain/chain.h"
#include "engine/chain/reader.h"
#include "engine/write/mass_writer.h"
#include "tools/cli/cli.h"
#include "tools/cli/options.h"
#include "tools/qflash/commands.h"

namespace qflash::cli {
namespace {

const char kHelp[] =
    "Usage: qflash read IMAGE [--offset=N] [--length=N] [--header=H]... [--debug]\n"
    "Writes LENGTH bytes of the virtual disk from OFFSET to stdout (default:\n"
    "the whole disk). Sizes take K, M, G, T suffixes (powers of 1024).\n"
    "Options for IMAGE (an http(s):// URL, a raw or compressed raw image):\n"
    QFLASH_IMAGE_OPTIONS_HELP;

}  // namespace

int cmd_read(int argc, char** argv) {
  uint64_t offset = 0, length = UINT64_MAX;
  auto size_opt = [](uint64_t& into) {
    return [&into](const char* v) {
      auto s = parse_size(v);
      if (!s) std::fprintf(stderr, "qflash read: %s\n", s.error().message.c_str());
      else into = *s;
      return s.ok();
    };
  };
  SourceOptions source;
  std::vector<std::string> pos;
  int rc = parse_options(argc, argv, "qflash read", kHelp,
                         with_image_options({{"offset", true, size_opt(offset)},
                                            {"length", true, size_opt(length)}},
                                           "qflash read", source),
                         pos);
  if (rc >= 0) return rc;
  // Over HTTP the read-ahead must cover the link's bandwidth-delay product:
  // the share `qflash write` gives it at its default --memory.
  if (pos.size() == 1 && is_url(pos[0]))
    source.cache_bytes = share_memory(WriteOptions{}.memory, pos[0]).caches;
  auto chain = open_image_arg(pos, kHelp, source, rc);
  if (!chain) return rc;
  if (offset > chain->size())
    return fail("qflash", usage("offset " + std::to_string(offset) + " is past the virtual size " +
                                std::to_string(chain->size())));
  if (length == UINT64_MAX) length = chain->size() - offset;
  if (length > chain->size() - offset)
    return fail("qflash", usage("range " + std::to_string(offset) + "+" + std::to_string(length) +
                                " is past the virtual size " + std::to_string(chain->size())));
  Reader reader(*chain);
  std::vector<uint8_t> buf(std::min<uint64_t>(length, 4u << 20));
  for (uint64_t done = 0; done < length;) {
    auto chunk = std::span<uint8_t>(buf).first(std::min<uint64_t>(buf.size(), length - done));
    if (auto st = reader.read(chunk, offset + done); !st) return fail("qflash", st.error());
    for (size_t w = 0; w < chunk.size();) {
      ssize_t n = ::write(STDOUT_FILENO, chunk.data() + w, chunk.size() - w);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail("qflash", io_error("write to stdout", errno));
      w += size_t(n);
    }
    done += chunk.size();
  }
  // The last range's checksum (a bmap's) may still be being taken.
  if (auto st = chain->settle(); !st) return fail("qflash", st.error());
  return kOk;
}

}  // namespace qflash::cli
