// Opening follows qemu's backing rules: the backing format comes from the
// header extension, else the file is probed; names are relative to the
// directory (or URL) of the image that names them.
#include "engine/chain/chain.h"

#include <filesystem>
#include <set>

#include "engine/qcow2/qcow2_header.h"
#include "engine/qcow2/qcow2_layer.h"
#include "engine/image/raw_layer.h"
#include "io/http/url.h"

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

// Errors found below the image itself also name the image the user gave.
Error in_chain(const std::string& top, Error e) {
  e.message = top + ": in its backing chain: " + e.message;
  return e;
}

}  // namespace

Result<Chain> Chain::open(const std::string& name, const SourceOptions& given) {
  // A local image may name files in its own directory tree (and --backing-dir).
  SourceOptions options = given;
  if (!is_url(name)) {
    const std::string dir = std::filesystem::path(name).parent_path().string();
    options.references.dirs.push_back(dir.empty() ? "." : dir);
  }
  Chain chain;
  std::set<std::string> seen;
  // The image itself must be QCOW2: a file without the magic is refused
  // rather than taken for raw; only backing files may be raw.
  std::string next = name, format = "qcow2", referrer;
  while (true) {
    auto src = referrer.empty() ? open_source(next, options)
                                : open_reference(chain.layers_.back()->source(), "backing file",
                                                 next, options);
    if (!src) {
      if (!referrer.empty() && src.error().kind == ErrorKind::Usage)  // refused by the policy
        return chain.layers_.size() > 1 ? in_chain(redact_url(name), src.take_error())
                                        : src.take_error();
      if (referrer.empty()) return src.take_error();
      return in_chain(redact_url(name),
                      Error{src.error().kind,
                            referrer + ": cannot open backing file (looked for " +
                                redact_url(next) + "): " + src.error().message,
                            src.error().err});
    }
    if (!seen.insert((*src)->identity()).second)
      return corrupt(redact_url(name) + ": backing chain loops: " + referrer + " refers back to " +
                     redact_url(next));
    if (chain.layers_.size() == kMaxChainDepth)
      return unsupported(redact_url(name) + ": backing chain is deeper than 64 images");
    if (!referrer.empty() && format == "qcow2" && !has_qcow2_magic(**src))
      return in_chain(redact_url(name), corrupt(referrer + ": backing file " + redact_url(next) +
                                                " is declared qcow2 but is not"));
    auto layer = open_layer(std::move(src).value(), format, options);
    if (!layer)
      return referrer.empty() ? layer.take_error() : in_chain(redact_url(name), layer.take_error());
    referrer = (*layer)->source().name();
    next = (*layer)->backing_name();
    format = (*layer)->backing_format();
    chain.layers_.push_back(std::move(layer).value());
    if (next.empty()) break;
  }
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
  for (size_t d = 0; d < layers_.size(); ++d)
    if (auto st = layers_[d]->validate(); !st)
      return d ? in_chain(name(), st.take_error()) : st.take_error();
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
  return resolve_at(0, guest, length, out);
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
