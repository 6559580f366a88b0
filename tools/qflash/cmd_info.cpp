// qflash info: what the image is, in words or JSON.
#include <cstdio>

#include "engine/api/features.h"
#include "engine/bmap/bmap.h"
#include "engine/chain/chain.h"
#include "engine/qcow2/qcow2_header.h"
#include "engine/qcow2/qcow2_layer.h"
#include "io/base/text.h"
#include "tools/cli/cli.h"
#include "tools/cli/options.h"
#include "tools/qflash/commands.h"

namespace qflash::cli {
namespace {

const char kHelp[] =
    "Usage: qflash info IMAGE [--output=human|json] [--header=H]... [--debug]\n"
    "                   [--backing-dir=DIR]... [--allow-device-backing] [--no-backing]\n"
    "Prints the format, version, virtual size, cluster size, compression,\n"
    "features and the whole backing chain of IMAGE.\n"
    "Options for IMAGE (an http(s):// URL, a raw or compressed raw image):\n"
    QFLASH_IMAGE_OPTIONS_HELP;

void print_human(const Chain& chain) {
  const Layer& top = chain.layer(0);
  std::printf("image: %s\n", terminal_safe(chain.name()).c_str());
  const Qcow2Header* h = qcow2_header_of(top);
  std::printf("format: %s", top.format());
  if (h) std::printf(" (version %u)", h->version);
  std::printf("\nvirtual size: %s (%llu bytes)\n", human_size(chain.size()).c_str(),
              static_cast<unsigned long long>(chain.size()));
  if (h) {
    std::printf("cluster size: %s\n", human_size(h->cluster_size()).c_str());
    std::printf("compression: %s\n", codec_name(h->compression));
    std::printf("refcount bits: %u\n", 1u << h->refcount_order);
    std::string f;
    for (const auto& s : qcow2_feature_names(*h)) f += (f.empty() ? "" : ", ") + s;
    std::printf("features: %s\n", f.empty() ? "none" : f.c_str());
    if (h->data_file) std::printf("data file: %s\n", printable(*h->data_file).c_str());
    std::printf("snapshots: %u\n", h->nb_snapshots);
  }
  if (const auto* s = top.source().stream_info()) {
    std::printf("compression: %s\n", s->compression.c_str());
    if (s->compressed_size >= 0)
      std::printf("compressed size: %s (%lld bytes)\n", human_size(uint64_t(s->compressed_size)).c_str(),
                  static_cast<long long>(s->compressed_size));
    std::printf("size from: %s\n", s->size_from.c_str());
  }
  if (const Bmap* b = bmap_of(top))
    std::printf("bmap: %s (version %s, %s mapped, checksums: %s)\n", bmap_name_of(top)->c_str(),
                b->version.c_str(), human_size(b->mapped_bytes()).c_str(),
                b->checksum_type.empty() ? "none" : b->checksum_type.c_str());
  std::printf("backing chain:\n");
  for (size_t d = 0; d < chain.depth(); ++d) {
    const Layer& l = chain.layer(d);
    std::printf("  %zu  %s (%s, %s)\n", d, printable(l.source().name()).c_str(), l.format(),
                human_size(l.size()).c_str());
  }
}

void print_json(const Chain& chain) {
  const Layer& top = chain.layer(0);
  const Qcow2Header* h = qcow2_header_of(top);
  std::printf("{\n  \"filename\": \"%s\",\n  \"format\": \"%s\",\n", json_escape(chain.name()).c_str(),
              top.format());
  std::printf("  \"virtual-size\": %llu,\n", static_cast<unsigned long long>(chain.size()));
  if (h) {
    std::printf("  \"version\": %u,\n  \"cluster-size\": %llu,\n  \"compression\": \"%s\",\n",
                h->version, static_cast<unsigned long long>(h->cluster_size()),
                codec_name(h->compression));
    std::printf("  \"refcount-bits\": %u,\n  \"snapshots\": %u,\n", 1u << h->refcount_order,
                h->nb_snapshots);
    if (h->data_file) std::printf("  \"data-file\": \"%s\",\n", json_escape(*h->data_file).c_str());
    std::printf("  \"features\": [");
    auto f = qcow2_feature_names(*h);
    for (size_t i = 0; i < f.size(); ++i) std::printf("%s\"%s\"", i ? ", " : "", f[i].c_str());
    std::printf("],\n");
  }
  if (const auto* s = top.source().stream_info()) {
    std::printf("  \"compression\": \"%s\",\n  \"compressed-size\": %lld,\n  \"size-from\": \"%s\",\n",
                s->compression.c_str(), static_cast<long long>(s->compressed_size),
                json_escape(s->size_from).c_str());
  }
  if (const Bmap* b = bmap_of(top))
    std::printf("  \"bmap\": {\"filename\": \"%s\", \"version\": \"%s\", \"mapped-size\": %llu, "
                "\"checksum-type\": \"%s\"},\n",
                json_escape(*bmap_name_of(top)).c_str(), json_escape(b->version).c_str(),
                static_cast<unsigned long long>(b->mapped_bytes()), json_escape(b->checksum_type).c_str());
  std::printf("  \"backing-chain\": [");
  for (size_t d = 0; d < chain.depth(); ++d) {
    const Layer& l = chain.layer(d);
    std::printf("%s\n    {\"depth\": %zu, \"filename\": \"%s\", \"format\": \"%s\", "
                "\"virtual-size\": %llu}",
                d ? "," : "", d, json_escape(l.source().name()).c_str(), l.format(),
                static_cast<unsigned long long>(l.size()));
  }
  std::printf("\n  ]\n}\n");
}

}  // namespace

int cmd_info(int argc, char** argv) {
  bool json = false;
  SourceOptions source;
  std::vector<std::string> pos;
  int rc = parse_options(argc, argv, "qflash info", kHelp,
                         with_image_options({output_option("qflash info", json)}, "qflash info", source),
                         pos);
  if (rc >= 0) return rc;
  auto chain = open_image_arg(pos, kHelp, source, rc);
  if (!chain) return rc;
  json ? print_json(*chain) : print_human(*chain);
  return kOk;
}

}  // namespace qflash::cli
