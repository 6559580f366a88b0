// Opening follows qemu's backing rules: the backing format comes from the
// header extension, else the file is probed; names are relative to the
// directory (or URL) of the image that names them.
#include "engine/chain/chain.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "engine/bmap/bmap.h"
#include "engine/qcow2/qcow2_header.h"
#include "engine/qcow2/qcow2_layer.h"
#include "engine/image/raw_layer.h"
#include "io/base/out_of_memory.h"
#include "io/base/text.h"
#include "io/http/url.h"
#include "io/stream/stream_source.h"

namespace qflash {
namespace {

void append(std::vector<Extent>& out, const Extent& e) {
  if (!out.empty()) {
    Extent& last = out.back();
    if (last.kind == e.kind && last.guest + last.length == e.guest) {
      if (e.kind == Extent::Kind::Zero ||
          (e.kind == Extent::Kind::Data && last.source == e.source &&
           last.host + last.length == e.host)) {
        last.length += e.length;
        return;
      }
    }
  }
  out.push_back(e);
}

Result<std::unique_ptr<Layer>> open_layer(SourcePtr src, const std::string& format,
                                          const SourceOptions& options) {
  if (format == "raw") return open_raw_layer(std::move(src));
  if (format == "qcow2" || (format.empty() && has_qcow2_magic(*src)))
    return open_qcow2_layer(std::move(src), options);
  if (format.empty()) return open_raw_layer(std::move(src));
  return unsupported(src->name() + ": backing format '" + format + "' is not supported");
}

// The image the user named, by content: QCOW2, else a compressed stream
// (gzip, xz, zstd, bzip2) holding a raw disk, else a raw disk; "-" is
// standard input. A bmap (given, or found beside a local image) restricts a
// raw disk to its mapped ranges.
Result<std::unique_ptr<Layer>> open_top_layer(const std::string& name, const SourceOptions& options) {
  std::optional<Bmap> bmap;
  std::string bmap_name = options.no_bmap ? "" : options.bmap;
  const bool bmap_given = !bmap_name.empty();
  if (!bmap_given && !options.no_bmap && name != "-" && !is_url(name)) bmap_name = find_bmap(name);
  if (!bmap_name.empty()) {
    QF_ASSIGN(bmap, read_bmap(bmap_name));
  }
  StreamOptions stream;
  stream.threads = options.decode_threads;
  stream.size_at_end = options.size_at_end;
  if (options.image_size) {
    stream.size_hint = options.image_size;
    stream.size_hint_from = "--image-size";
  } else if (bmap) {
    stream.size_hint = bmap->image_size;
    stream.size_hint_from = "bmap";
  }
  SourcePtr src;
  if (name == "-") {
    QF_ASSIGN(src, open_stdin_source(stream));
    if (has_qcow2_magic(*src))
      return usage(std::string(kStdinName) + ": a QCOW2 image needs random access: give the file");
  } else {
    QF_ASSIGN(src, open_source(name, options));
    // Zero bytes are no disk: refused rather than written as one.
    if (src->size() == 0) return corrupt(redact_url(name) + ": the file is empty, not a disk image");
    if (has_qcow2_magic(*src)) {
      if (bmap_given) return usage(bmap_name + ": a bmap describes a raw image, and " + redact_url(name) + " is QCOW2");
      return open_qcow2_layer(std::move(src), options);
    }
    uint8_t head[6] = {};
    QF_ASSIGN(size_t n, src->read_at(head, 0));
    if (auto format = detect_stream_format({head, n})) {
      QF_ASSIGN(src, open_stream_source(std::move(src), *format, stream));
    }
  }
  if (bmap) return open_bmap_layer(std::move(src), std::move(*bmap), bmap_name);
  return open_raw_layer(std::move(src));
}

// Errors found below the image itself also name the image the user gave.
// Names read from images are printed escaped (printable).
Error in_chain(const std::string& top, Error e) {
  e.message = printable(top + ": in its backing chain: " + e.message);
  return e;
}

}  // namespace

MemoryShares share_memory(uint64_t memory, const std::string& image) {
  if (!is_url(image)) return {memory, std::clamp<uint64_t>(memory / 4, 16u << 20, 48u << 20)};
  return {memory, std::max<uint64_t>(memory / 2, 8u << 20)};
}

Result<Chain> Chain::open(const std::string& name, const SourceOptions& options) {
  return catch_bad_alloc("open " + redact_url(name), [&] { return open_chain(name, options); });
}

Result<Chain> Chain::open_chain(const std::string& name, const SourceOptions& chain_options) {
  Chain chain;
  std::set<std::string> seen;
  // The depth is known only at the end, and a source sizes its cache when
  // it is opened: each file takes three quarters of what is left of the
  // sources' part (the image, read most, the most).
  SourceOptions options = chain_options;
  // Headers and credentials belong to the origin of the image named here.
  if (options.home_origin.empty())
    options.home_origin = is_url(name) ? url_origin(name) : kLocalOrigin;
  // A local image may name files in its own directory tree (and --backing-dir).
  if (!is_url(name) && name != "-") {
    const std::string dir = std::filesystem::path(name).parent_path().string();
    options.references.dirs.push_back(dir.empty() ? "." : dir);
  }
  uint64_t source_budget = chain_options.cache_bytes / 4 * 3;
  std::string next = name, format, referrer;
  while (true) {
    options.cache_bytes = source_budget / 4 * 3;
    source_budget -= options.cache_bytes;
    Result<std::unique_ptr<Layer>> layer = Error{};
    if (referrer.empty()) {
      layer = open_top_layer(name, options);
      if (!layer) return layer.take_error();
      seen.insert((*layer)->source().identity());
    } else {
      // Backing files are never decompressed, as in qemu: raw or QCOW2; and
      // only the files the reference policy allows are opened at all.
      auto src = open_reference(chain.layers_.back()->source(), "backing file", next, options);
      if (!src) {
        if (src.error().kind == ErrorKind::Usage)  // refused by the policy
          return chain.layers_.size() > 1 ? in_chain(redact_url(name), src.take_error())
                                          : src.take_error();
        return in_chain(redact_url(name),
                        Error{src.error().kind,
                              printable(referrer + ": cannot open backing file (looked for " +
                                        redact_url(next) + "): " + src.error().message),
                              src.error().err});
      }
      if (!seen.insert((*src)->identity()).second)
        return corrupt(redact_url(name) + ": backing chain loops: " + referrer + " refers back to " +
                       printable(redact_url(next)));
      if (chain.layers_.size() == kMaxChainDepth)
        return unsupported(redact_url(name) + ": backing chain is deeper than 64 images");
      if (format == "qcow2" && !has_qcow2_magic(**src))
        return in_chain(redact_url(name), corrupt(referrer + ": backing file " + redact_url(next) +
                                                  " is declared qcow2 but is not"));
      layer = open_layer(std::move(src).value(), format, options);
      if (!layer) return in_chain(redact_url(name), layer.take_error());
    }
    referrer = (*layer)->source().name();
    next = (*layer)->backing_name();
    format = (*layer)->backing_format();
    chain.layers_.push_back(std::move(layer).value());
    if (next.empty()) break;
  }
  const uint64_t l2_share = chain_options.cache_bytes / 4 / chain.layers_.size();
  for (auto& layer : chain.layers_) layer->set_cache_budget(l2_share);
  return chain;
}

Result<Chain> Chain::open_alone(SourcePtr image) {
  if (has_qcow2_magic(*image)) {
    QF_ASSIGN(Qcow2Header h, read_qcow2_header(*image));
    if (!h.backing_file.empty() || h.has_data_file())
      return unsupported(image->name() + ": names another file (backing or data file)");
  }
  Chain chain;
  QF_ASSIGN(auto layer, open_layer(std::move(image), "", {}));
  chain.layers_.push_back(std::move(layer));
  return chain;
}

std::vector<const Source*> Chain::files() const {
  std::vector<const Source*> out;
  for (const auto& l : layers_) {
    out.push_back(&l->source());
    if (l->data_file()) out.push_back(l->data_file());
  }
  return out;
}

Status Chain::validate() {
  return catch_bad_alloc("check " + name(), [&] { return validate_layers(); });
}

Status Chain::validate_layers() {
  for (size_t d = 0; d < layers_.size(); ++d)
    if (auto st = layers_[d]->validate(); !st)
      return d ? in_chain(name(), st.take_error()) : st.take_error();
  return {};
}

std::optional<uint64_t> Chain::found_end() const {
  auto end = layers_.front()->source().found_end();
  if (end) *end = (*end + 511) / 512 * 512;
  return end;
}

Status Chain::settle() const {
  for (const Source* f : files()) QF_TRY(f->settle());
  return {};
}

Status Chain::check_unchanged() const {
  for (const Source* f : files()) QF_TRY(f->check_unchanged());
  return {};
}

Status Chain::resolve(uint64_t guest, uint64_t length, std::vector<Extent>& out) {
  if (guest > size() || length > size() - guest)
    return usage(name() + ": range " + std::to_string(guest) + "+" + std::to_string(length) +
                 " is past the virtual size " + std::to_string(size()));
  try {
    return resolve_at(0, guest, length, out);
  } catch (const std::bad_alloc&) {
    return out_of_memory(name() + ": resolving guest offset " + std::to_string(guest));
  }
}

Status Chain::resolve_at(size_t depth, uint64_t guest, uint64_t length, std::vector<Extent>& out) {
  Layer& layer = *layers_[depth];
  const uint64_t end = guest + length;
  uint64_t pos = guest;
  while (pos < end) {
    if (pos >= layer.size()) {  // a backing file shorter than its overlay
      append(out, Extent{Extent::Kind::Zero, {}, pos, end - pos});
      break;
    }
    QF_ASSIGN(LayerStatus st, layer.status(pos, std::min(end, layer.size()) - pos));
    Extent e{Extent::Kind::Zero, st.codec, pos, st.length};
    switch (st.kind) {
      case LayerStatus::Kind::Data:
        e.kind = Extent::Kind::Data;
        e.source = st.file;
        e.host = st.host;
        break;
      case LayerStatus::Kind::Compressed:
        e.kind = Extent::Kind::Compressed;
        e.source = st.file;
        e.host = st.host;
        e.csize = st.csize;
        e.cluster_size = st.cluster_size;
        e.skip = st.skip;
        break;
      case LayerStatus::Kind::Zero:
        break;
      case LayerStatus::Kind::Unallocated:
        if (depth + 1 < layers_.size()) {
          QF_TRY(resolve_at(depth + 1, pos, st.length, out));
          pos += st.length;
          continue;
        }
        break;
    }
    append(out, e);
    pos += st.length;
  }
  return {};
}

}  // namespace qflash
