// Guest offset -> L1 entry -> L2 table -> (sub)cluster type, as in qemu's
// qcow2_get_host_offset. Runs of equal status are merged up to the end of
// one L2 table.
#include "engine/qcow2/qcow2_layer.h"

#include <bit>
#include <cinttypes>
#include <unordered_set>

#include "io/base/debug.h"
#include "io/base/endian.h"
#include "io/base/text.h"
#include "engine/qcow2/l2_cache.h"
#include "engine/qcow2/l2_entry.h"
#include "engine/qcow2/qcow2_refcount.h"
#include "io/http/url.h"

namespace qflash {
namespace {

// An L2 table is read and cached in slices of at most this size, as qemu's
// l2-cache-entry-size allows: a 2 MiB-cluster image's 2 MiB tables then do
// not each cost 2 MiB of cache, and a slice still maps 8192 clusters.
constexpr uint64_t kMaxL2Slice = 64u << 10;
// The L2 cache of a layer opened on its own; a chain sets its share.
constexpr uint64_t kDefaultL2Budget = 32u << 20;

class Qcow2Layer final : public Layer {
 public:
  Qcow2Layer(SourcePtr src, Qcow2Header h, std::vector<uint64_t> l1, SourcePtr data)
      : src_(std::move(src)),
        h_(std::move(h)),
        l1_(std::move(l1)),
        data_(data ? std::move(data) : src_),
        cache_(std::min(h_.cluster_size(), kMaxL2Slice), kDefaultL2Budget) {}

  const Source& source() const override { return *src_; }
  // qemu keeps whole 512-byte sectors of a size that is not a multiple.
  uint64_t size() const override { return h_.size & ~uint64_t{511}; }
  const char* format() const override { return "qcow2"; }
  const Source* data_file() const override { return data_ == src_ ? nullptr : data_.get(); }
  std::string backing_name() const override {
    return h_.backing_file.empty() ? std::string() : src_->resolve(h_.backing_file);
  }
  std::string backing_format() const override { return h_.backing_format.value_or(""); }
  void set_cache_budget(uint64_t bytes) override { cache_.set_budget(bytes); }
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
  uint64_t slice_entries() const { return cache_.slice_bytes() / h_.l2_entry_size(); }
  Result<uint64_t> l2_table_offset(uint64_t l1_index, uint64_t guest) const;
  L2Entry entry(const std::vector<uint64_t>& slice, uint64_t i) const {
    return h_.extended_l2() ? L2Entry{slice[2 * i], slice[2 * i + 1]} : L2Entry{slice[i], 0};
  }
  // `at`: the entry's own host offset, for the message.
  Status check_entry(const L2Entry& e, uint64_t guest, uint64_t at);
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

// The table's host offset, checked to hold a whole table inside the file.
Result<uint64_t> Qcow2Layer::l2_table_offset(uint64_t l1_index, uint64_t guest) const {
  const uint64_t off = l1_[l1_index] & kL1OffsetMask;
  const uint64_t file = src_->size();
  if (offset_into_cluster(h_, off))
    return bad(guest, "L2 table offset " + hex(off) + " is not cluster-aligned");
  if (off >= file)
    return bad(guest, "L2 table at " + hex(off) + " lies past the end of the file (" +
                          std::to_string(file) + " bytes; truncated?)");
  if (file - off < h_.cluster_size())
    return bad(guest, "L2 table at " + hex(off) + " (" + std::to_string(h_.cluster_size()) +
                          " bytes) is cut short by the end of the file at " + hex(file) +
                          " (truncated?)");
  return off;
}

Status Qcow2Layer::check_entry(const L2Entry& e, uint64_t guest, uint64_t at) {
  const bool external = h_.has_data_file();
  if (e.word & kL2Compressed) {
    if (external) return bad(guest, "compressed cluster in an image with an external data file");
    auto ref = compressed_ref(e.word, h_.cluster_bits);
    if (ref.host >= data_->size())
      return bad(guest, "compressed cluster at " + hex(ref.host) +
                            " lies past the end of the file (truncated?)");
    return {};
  }
  const bool cluster = e.has_cluster(h_.extended_l2(), external);
  bool reads_data = !(e.word & kL2Zero);
  if (h_.extended_l2()) {
    const uint32_t alloc = uint32_t(e.bitmap), zero = uint32_t(e.bitmap >> 32);
    if (!cluster && alloc)
      return bad(guest, "L2 entry at " + hex(at) +
                            " has no cluster, but its bitmap marks subcluster " +
                            std::to_string(std::countr_zero(alloc)) + " allocated");
    if (cluster && (alloc & zero))
      return bad(guest, "L2 entry at " + hex(at) + " marks subcluster " +
                            std::to_string(std::countr_zero(alloc & zero)) +
                            " both allocated and zero");
    reads_data = alloc != 0;
  }
  if (!cluster) return {};
  const uint64_t host = e.word & kL2OffsetMask;
  if (offset_into_cluster(h_, host))
    return bad(guest, "cluster offset " + hex(host) + " is not cluster-aligned");
  if (external && h_.data_file_raw() && host != start_of_cluster(h_, guest))
    return bad(guest, "cluster offset " + hex(host) +
                          " differs from the guest offset, but data_file_raw is set");
  // An external data file need not reach the end of what it maps: qemu
  // reads past its end as zeros. The image file itself must hold its data.
  if (!external && reads_data && host >= data_->size())
    return bad(guest, "data cluster at " + hex(host) + " lies past the end of " + data_->name() +
                          " (truncated?)");
  return {};
}

Result<LayerStatus> Qcow2Layer::status(uint64_t guest, uint64_t max) {
  const uint64_t l1_index = offset_to_l1_index(h_, guest);
  const uint64_t table_guest = l1_index * l1_entry_span(h_);

  LayerStatus st;
  st.file = data_.get();
  if ((l1_[l1_index] & kL1OffsetMask) == 0) {
    st.length = std::min(max, table_guest + l1_entry_span(h_) - guest);
    debug("%s: guest %" PRIu64 ": no L2 table (L1[%" PRIu64 "] = 0)", src_->name().c_str(), guest,
          l1_index);
    return st;
  }
  QF_ASSIGN(const uint64_t table, l2_table_offset(l1_index, guest));
  // One slice at a time, as qemu does: a run ends at the end of its slice.
  const uint64_t first = offset_to_l2_index(h_, guest) & ~(slice_entries() - 1);
  max = std::min(max, table_guest + ((first + slice_entries()) << h_.cluster_bits) - guest);
  const uint64_t slice_at = table + first * h_.l2_entry_size();
  QF_ASSIGN(auto slice, cache_.get(*src_, slice_at));
  const bool ext = h_.extended_l2(), external = h_.has_data_file();

  uint64_t i = offset_to_l2_index(h_, guest) - first;
  L2Entry e = entry(*slice, i);
  QF_TRY(check_entry(e, start_of_cluster(h_, guest), slice_at + i * h_.l2_entry_size()));
  const SubclusterType type = e.type(ext, external, offset_to_sc_index(h_, guest));
  debug("%s: guest %" PRIu64 ": L1[%" PRIu64 "] L2[%" PRIu64 "] = %016" PRIx64 " %016" PRIx64
        " subcluster %u type %d",
        src_->name().c_str(), guest, l1_index, first + i, e.word, e.bitmap,
        offset_to_sc_index(h_, guest), int(type));

  const uint64_t in_cluster = offset_into_cluster(h_, guest);
  if (type == SubclusterType::Compressed) {
    auto ref = compressed_ref(e.word, h_.cluster_bits);
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
  st.host = st.offset_valid ? (e.word & kL2OffsetMask) + in_cluster : 0;

  // Extend over following subclusters and clusters of the same type (and,
  // where the host offset matters, contiguous on the host).
  const uint64_t sc_size = uint64_t{1} << h_.subcluster_bits();
  uint64_t end = (guest | (sc_size - 1)) + 1;
  while (end - guest < max) {
    const uint64_t ni = offset_to_l2_index(h_, end) - first;
    if (ni != i) {
      i = ni;
      e = entry(*slice, i);
      QF_TRY(check_entry(e, end, slice_at + i * h_.l2_entry_size()));
    }
    if (e.type(ext, external, offset_to_sc_index(h_, end)) != type) break;
    if (st.offset_valid &&
        (e.word & kL2OffsetMask) + offset_into_cluster(h_, end) != st.host + (end - guest))
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
  const uint64_t span = l1_entry_span(h_);
  const uint64_t entries = std::min(h_.l2_entries(), slice_entries());
  for (uint64_t l1i = 0; l1i < size_to_l1(h_, h_.size); ++l1i) {
    const uint64_t off = l1_[l1i] & kL1OffsetMask;
    if (off == 0 || checked.count(off)) continue;
    QF_ASSIGN(const uint64_t table, l2_table_offset(l1i, l1i * span));
    bool whole = true;
    for (uint64_t first = 0; whole && first < h_.l2_entries(); first += entries) {
      const uint64_t slice_at = table + first * h_.l2_entry_size();
      QF_ASSIGN(auto slice, cache_.get(*src_, slice_at));
      for (uint64_t i = 0; i < entries; ++i) {
        const uint64_t guest = l1i * span + ((first + i) << h_.cluster_bits);
        if (guest >= h_.size) {
          whole = false;
          break;
        }
        QF_TRY(check_entry(entry(*slice, i), guest, slice_at + i * h_.l2_entry_size()));
      }
    }
    if (whole && !h_.data_file_raw()) checked.insert(off);
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
                   printable(src->name() + ": external data file '" + *h.data_file +
                             "' (looked for " + redact_url(path) + "): " + opened.error().message),
                   opened.error().err};
    data = std::move(opened).value();
  }
  return std::unique_ptr<Layer>(
      std::make_unique<Qcow2Layer>(std::move(src), std::move(h), std::move(l1), std::move(data)));
}

}  // namespace qflash
