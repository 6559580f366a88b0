// Guest offset -> L1 entry -> L2 table -> (sub)cluster type, as in qemu's
// qcow2_get_host_offset. Runs of equal status are merged up to the end of
// one L2 table.
#include "engine/qcow2/qcow2_layer.h"

#include <cinttypes>
#include <unordered_set>

#include "io/base/debug.h"
#include "io/base/endian.h"
#include "engine/qcow2/l2_cache.h"
#include "engine/qcow2/l2_entry.h"
#include "engine/qcow2/qcow2_refcount.h"
#include "io/http/url.h"

namespace qflash {
namespace {

constexpr uint64_t kL2CacheBudget = 32u << 20;

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

class Qcow2Layer final : public Layer {
 public:
  Qcow2Layer(SourcePtr src, Qcow2Header h, std::vector<uint64_t> l1, SourcePtr data)
      : src_(std::move(src)),
        h_(std::move(h)),
        l1_(std::move(l1)),
        data_(data ? std::move(data) : src_),
        cache_(h_.cluster_size(), kL2CacheBudget) {}

  const Source& source() const override { return *src_; }
  // qemu keeps whole 512-byte sectors of a size that is not a multiple.
  uint64_t size() const override { return h_.size & ~uint64_t{511}; }
  const char* format() const override { return "qcow2"; }
  const Source* data_file() const override { return data_ == src_ ? nullptr : data_.get(); }
  std::string backing_name() const override {
    return h_.backing_file.empty() ? std::string() : src_->resolve(h_.backing_file);
  }
  std::string backing_format() const override { return h_.backing_format.value_or(""); }
  const Qcow2Header& header() const { return h_; }
  bool map_recurses() override {
    if (!prealloc_checked_) {
      metadata_prealloc_ = metadata_preallocated(*src_, h_);
      prealloc_checked_ = true;
      debug("%s: metadata preallocation %s", src_->name().c_str(),
            metadata_prealloc_ ? "detected" : "not detected");
    }
    return metadata_prealloc_;
  }

  Result<LayerStatus> status(uint64_t guest, uint64_t max) override;
  Status validate() override;

 private:
  Result<L2Cache::Table> l2_table(uint64_t l1_index, uint64_t guest);
  L2Entry entry(const std::vector<uint64_t>& t, uint64_t i) const {
    return h_.extended_l2() ? L2Entry{t[2 * i], t[2 * i + 1]} : L2Entry{t[i], 0};
  }
  Status check_entry(const L2Entry& e, uint64_t guest);
  Error bad(uint64_t guest, const std::string& what) const {
    return corrupt(src_->name() + ": " + what + " (guest offset " + std::to_string(guest) + ")");
  }

  SourcePtr src_;
  Qcow2Header h_;
  std::vector<uint64_t> l1_;
  SourcePtr data_;  // the external data file, or src_
  L2Cache cache_;
  bool prealloc_checked_ = false, metadata_prealloc_ = false;
};

Result<L2Cache::Table> Qcow2Layer::l2_table(uint64_t l1_index, uint64_t guest) {
  const uint64_t off = l1_[l1_index] & kL1OffsetMask;
  if (off & (h_.cluster_size() - 1))
    return bad(guest, "L2 table offset " + hex(off) + " is not cluster-aligned");
  if (off > src_->size() || src_->size() - off < h_.cluster_size())
    return bad(guest, "L2 table at " + hex(off) + " lies past the end of the file (truncated?)");
  return cache_.get(*src_, off);
}

Status Qcow2Layer::check_entry(const L2Entry& e, uint64_t guest) {
  const bool external = h_.has_data_file();
  const unsigned n_sc = h_.extended_l2() ? 32 : 1;
  for (unsigned sc = 0; sc < n_sc; ++sc) {
    switch (e.type(h_.extended_l2(), external, sc)) {
      case SubclusterType::Invalid:
        return bad(guest, "L2 entry has a subcluster both allocated and zero");
      case SubclusterType::Compressed: {
        if (external) return bad(guest, "compressed cluster in an image with an external data file");
        auto ref = compressed_ref(e.word, h_.cluster_bits);
        if (ref.host >= data_->size())
          return bad(guest, "compressed cluster at " + hex(ref.host) +
                                " lies past the end of the file (truncated?)");
        return {};
      }
      case SubclusterType::Normal:
      case SubclusterType::ZeroAlloc:
      case SubclusterType::UnallocatedAlloc: {
        const uint64_t host = e.word & kL2OffsetMask;
        if (host & (h_.cluster_size() - 1))
          return bad(guest, "cluster offset " + hex(host) + " is not cluster-aligned");
        if (external && h_.data_file_raw() && host != (guest & ~(h_.cluster_size() - 1)))
          return bad(guest, "cluster offset " + hex(host) +
                                " differs from the guest offset, but data_file_raw is set");
        if (host >= data_->size() &&
            e.type(h_.extended_l2(), external, sc) == SubclusterType::Normal)
          return bad(guest, "data cluster at " + hex(host) + " lies past the end of " +
                                data_->name() + " (truncated?)");
        break;
      }
      default:
        break;
    }
  }
  return {};
}

Result<LayerStatus> Qcow2Layer::status(uint64_t guest, uint64_t max) {
  const unsigned cb = h_.cluster_bits;
  const unsigned l2b = h_.l2_bits();
  const uint64_t l1_index = guest >> (cb + l2b);
  const uint64_t table_end = (l1_index + 1) << (cb + l2b);
  max = std::min(max, table_end - guest);

  LayerStatus st;
  st.file = data_.get();
  if ((l1_[l1_index] & kL1OffsetMask) == 0) {
    st.length = max;
    debug("%s: guest %" PRIu64 ": no L2 table (L1[%" PRIu64 "] = 0)", src_->name().c_str(), guest,
          l1_index);
    return st;
  }
  QF_ASSIGN(auto table, l2_table(l1_index, guest));
  const unsigned scb = h_.subcluster_bits();
  const uint64_t sc_size = uint64_t{1} << scb;
  const bool ext = h_.extended_l2(), external = h_.has_data_file();

  uint64_t i = (guest >> cb) & (h_.l2_entries() - 1);
  unsigned sc = unsigned((guest >> scb) & ((uint64_t{1} << (cb - scb)) - 1));
  L2Entry e = entry(*table, i);
  QF_TRY(check_entry(e, guest));
  const SubclusterType type = e.type(ext, external, sc);
  debug("%s: guest %" PRIu64 ": L1[%" PRIu64 "] L2[%" PRIu64 "] = %016" PRIx64 " %016" PRIx64
        " subcluster %u type %d",
        src_->name().c_str(), guest, l1_index, i, e.word, e.bitmap, sc, int(type));

  const uint64_t in_cluster = guest & (h_.cluster_size() - 1);
  if (type == SubclusterType::Compressed) {
    auto ref = compressed_ref(e.word, cb);
    st.kind = LayerStatus::Kind::Compressed;
    st.length = std::min(max, h_.cluster_size() - in_cluster);
    st.host = ref.host;
    st.csize = uint32_t(ref.size);
    st.cluster_size = uint32_t(h_.cluster_size());
    st.skip = uint32_t(in_cluster);
    st.codec = h_.compression;
    return st;
  }
  switch (type) {
    case SubclusterType::Normal: st.kind = LayerStatus::Kind::Data; break;
    case SubclusterType::ZeroPlain:
    case SubclusterType::ZeroAlloc: st.kind = LayerStatus::Kind::Zero; break;
    default: st.kind = LayerStatus::Kind::Unallocated; break;
  }
  st.offset_valid = type == SubclusterType::Normal || type == SubclusterType::ZeroAlloc ||
                    type == SubclusterType::UnallocatedAlloc;
  const uint64_t host0 = e.word & kL2OffsetMask;
  st.host = st.offset_valid ? host0 + in_cluster : 0;

  // Extend over following subclusters and clusters of the same type (and,
  // where the host offset matters, contiguous on the host).
  uint64_t end = ((guest >> scb) + 1) << scb;
  while (end - guest < max) {
    uint64_t ni = (end >> cb) & (h_.l2_entries() - 1);
    if (ni != i) {
      if (ni == 0) break;  // next L2 table
      i = ni;
      e = entry(*table, i);
      QF_TRY(check_entry(e, end));
    }
    unsigned nsc = unsigned((end >> scb) & ((uint64_t{1} << (cb - scb)) - 1));
    if (e.type(ext, external, nsc) != type) break;
    if (st.offset_valid &&
        (e.word & kL2OffsetMask) + (end & (h_.cluster_size() - 1)) != st.host + (end - guest))
      break;
    end += sc_size;
  }
  st.length = std::min(max, end - guest);
  return st;
}

Status Qcow2Layer::validate() {
  // An L2 table referenced from many L1 entries is checked once: its entries
  // are valid or not wherever it is mapped (except against data_file_raw's
  // host == guest rule), and a crafted image could otherwise point millions
  // of L1 entries at one table.
  std::unordered_set<uint64_t> checked;
  const uint64_t span = uint64_t{1} << (h_.cluster_bits + h_.l2_bits());
  for (uint64_t l1i = 0; l1i * span < h_.size; ++l1i) {
    const uint64_t off = l1_[l1i] & kL1OffsetMask;
    if (off == 0 || checked.count(off)) continue;
    QF_ASSIGN(auto table, l2_table(l1i, l1i * span));
    uint64_t i = 0;
    for (; i < h_.l2_entries(); ++i) {
      const uint64_t guest = l1i * span + (i << h_.cluster_bits);
      if (guest >= h_.size) break;
      QF_TRY(check_entry(entry(*table, i), guest));
    }
    if (i == h_.l2_entries() && !h_.data_file_raw()) checked.insert(off);
  }
  return {};
}

}  // namespace

const Qcow2Header* qcow2_header_of(const Layer& layer) {
  auto* q = dynamic_cast<const Qcow2Layer*>(&layer);
  return q ? &q->header() : nullptr;
}

Result<std::unique_ptr<Layer>> open_qcow2_layer(SourcePtr src, const SourceOptions& options) {
  QF_ASSIGN(Qcow2Header h, read_qcow2_header(*src));
  debug("%s: QCOW2 v%u, virtual size %" PRIu64 ", cluster_bits %u, L1 %u entries at %s, "
        "incompatible %s, compatible %s, autoclear %s, compression %s, backing '%s'",
        src->name().c_str(), h.version, h.size, h.cluster_bits, h.l1_size,
        hex(h.l1_table_offset).c_str(), hex(h.incompatible_features).c_str(),
        hex(h.compatible_features).c_str(), hex(h.autoclear_features).c_str(),
        codec_name(h.compression), h.backing_file.c_str());

  std::vector<uint8_t> raw(uint64_t(h.l1_size) * 8);
  QF_TRY(src->read_exact(raw, h.l1_table_offset));
  std::vector<uint64_t> l1(h.l1_size);
  for (size_t i = 0; i < l1.size(); ++i) l1[i] = load_be64(&raw[i * 8]);

  SourcePtr data;
  if (h.has_data_file()) {
    // qemu 7.2 opens a relative data file name from its working directory;
    // where that fails, the image's own directory is the better guess. Both
    // go through the reference policy, and an http image's name is only
    // ever resolved against its URL.
    const char* what = "external data file";
    const std::string beside = src->resolve(*h.data_file);
    std::string path = *h.data_file;
    auto opened = is_url(src->name()) ? open_reference(*src, what, beside, options)
                                      : open_reference(*src, what, *h.data_file, options);
    if (!opened && !is_url(src->name()) && beside != *h.data_file) {
      path += " and " + beside;
      auto second = open_reference(*src, what, beside, options);
      // A refusal says more than a missing file.
      if (second || opened.error().kind != ErrorKind::Usage) opened = std::move(second);
    }
    if (!opened && opened.error().kind == ErrorKind::Usage) return opened.take_error();
    if (!opened)
      return Error{opened.error().kind,
                   src->name() + ": external data file '" + *h.data_file + "' (looked for " +
                       redact_url(path) + "): " + opened.error().message,
                   opened.error().err};
    data = std::move(opened).value();
  }
  return std::unique_ptr<Layer>(
      std::make_unique<Qcow2Layer>(std::move(src), std::move(h), std::move(l1), std::move(data)));
}

}  // namespace qflash
