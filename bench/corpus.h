// Bench corpus: a QCOW2 image made once per benchmark program from real
// files of this system (programs and libraries), compressed by qemu-img,
// and the compressed clusters read out of it. Removed at exit.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/chain/chain.h"

namespace qflash::bench {

struct Cluster {
  std::vector<uint8_t> stream;  // as stored, with its sector padding
  uint32_t size;                // decoded bytes
};

class Corpus {
 public:
  // `compression`: "zlib" or "zstd"; `cluster` bytes; `mib` of real files.
  Corpus(const std::string& compression, uint32_t cluster, unsigned mib) {
    char tmpl[] = "/tmp/qflash-bench-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    const std::string raw = dir_ + "/disk.raw";
    image_ = dir_ + "/disk.qcow2";
    const std::string cmd =
        "find /usr/lib /usr/bin -type f -size +16k 2>/dev/null | head -n 4000 | xargs cat 2>/dev/null | head -c " +
        std::to_string(mib) + "M > " + raw + " && qemu-img convert -q -f raw -O qcow2 -c -o compression_type=" +
        compression + ",cluster_size=" + std::to_string(cluster) + " " + raw + " " + image_;
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "corpus: %s failed\n", cmd.c_str());
    load();
  }
  ~Corpus() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  const std::string& image() const { return image_; }
  const std::vector<Cluster>& clusters() const { return clusters_; }
  uint64_t decoded_bytes() const {
    uint64_t n = 0;
    for (const auto& c : clusters_) n += c.size;
    return n;
  }

 private:
  void load() {
    auto chain = Chain::open(image_);
    if (!chain) return;
    std::vector<Extent> extents;
    if (!chain->resolve(0, chain->size(), extents)) return;
    for (const Extent& e : extents) {
      if (e.kind != Extent::Kind::Compressed || e.skip != 0) continue;
      Cluster c{std::vector<uint8_t>(e.csize), e.cluster_size};
      if (e.source->read_padded(c.stream, e.host)) clusters_.push_back(std::move(c));
    }
  }

  std::string dir_, image_;
  std::vector<Cluster> clusters_;
};

}  // namespace qflash::bench
