// BmapLayer reads through CheckedSource, which hashes each mapped range as
// its bytes go by, on a thread of its own: the reader decoding a compressed
// image is the run's critical path, and hashing beside it instead of after
// each read takes a tenth off a zstd write. Each piece read is copied to a
// bounded queue; a range that does not match fails the next read, and
// settle() waits for the queue. Readers (the engine's workers) ask for a
// range's pieces roughly in order; a piece that arrives ahead of the
// digest's position is kept until the pieces before it have been hashed,
// so the digest sees the bytes in order. Pieces read again (a second pass,
// `qflash read`) are not hashed twice. A range whose start is never read
// (a reader that began inside it) is not checked.
#include <openssl/evp.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/bmap/bmap.h"
#include "engine/image/raw_layer.h"

namespace qflash {
namespace {

// Bytes of pieces kept ahead of their range's digest: readers out of order
// by a few chunks (the engine's workers) stay far below it.
constexpr uint64_t kMaxAhead = 64ull << 20;
// Bytes read and not yet hashed: a reader waits past this (the hasher is
// the slower one on a fast decoder).
constexpr uint64_t kMaxQueued = 16ull << 20;
// Piece buffers kept for reuse (warm pages, no allocation per read).
constexpr size_t kSpareBuffers = 8;

// The first range of `bmap` that ends at or after byte `offset`.
std::vector<BmapRange>::const_iterator first_range_from(const Bmap& bmap, uint64_t offset) {
  return std::upper_bound(bmap.ranges.begin(), bmap.ranges.end(), offset / bmap.block_size,
                          [](uint64_t b, const BmapRange& r) { return b <= r.last; });
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

class CheckedSource final : public Source {
 public:
  CheckedSource(SourcePtr inner, const Bmap& bmap, std::string bmap_name)
      : inner_(std::move(inner)), bmap_(bmap), bmap_name_(std::move(bmap_name)),
        md_(bmap.checksum_type.empty() ? nullptr : EVP_get_digestbyname(bmap.checksum_type.c_str())),
        states_(bmap.ranges.size()) {
    if (md_) hasher_ = std::thread([this] { hash_pieces(); });
  }
  ~CheckedSource() override {
    {
      std::lock_guard lock(queue_mu_);
      closing_ = true;
    }
    work_cv_.notify_all();
    if (hasher_.joinable()) hasher_.join();
  }

  Result<size_t> read_at(std::span<uint8_t> buf, uint64_t offset) const override {
    QF_ASSIGN(size_t n, inner_->read_at(buf, offset));
    if (!md_ || n == 0 || !touches_checked_range(offset, n)) return n;
    std::unique_lock lock(queue_mu_);
    room_cv_.wait(lock, [&] { return queued_bytes_ + n <= kMaxQueued || queue_.empty() || !failed_.ok(); });
    if (!failed_.ok()) return Error(failed_.error());
    std::vector<uint8_t> bytes;
    if (!spare_.empty()) {
      bytes = std::move(spare_.back());
      spare_.pop_back();
    }
    bytes.assign(buf.begin(), buf.begin() + ptrdiff_t(n));
    queue_.push_back({offset, std::move(bytes)});
    queued_bytes_ += n;
    work_cv_.notify_one();
    return n;
  }
  Status settle() const override {
    QF_TRY(inner_->settle());
    std::unique_lock lock(queue_mu_);
    room_cv_.wait(lock, [&] { return queue_.empty() && !hashing_; });
    return failed_;
  }
  uint64_t size() const override { return inner_->size(); }
  const std::string& name() const override { return inner_->name(); }
  // No descriptor: every read goes through read_at, where it is checked.
  bool same_file(dev_t d, ino_t i) const override { return inner_->same_file(d, i); }
  std::string identity() const override { return inner_->identity(); }
  std::string resolve(const std::string& r) const override { return inner_->resolve(r); }
  Status check_unchanged() const override { return inner_->check_unchanged(); }
  const StreamInfo* stream_info() const override { return inner_->stream_info(); }
  bool sequential() const override { return md_ != nullptr || inner_->sequential(); }
  bool start_sha256() const override { return inner_->start_sha256(); }
  Result<Sha256::Digest> finish_sha256(const std::atomic<bool>& cancel) const override {
    return inner_->finish_sha256(cancel);
  }

 private:
  struct RangeState {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx;
    uint64_t hashed = 0;  // bytes of the range fed to the digest
    bool done = false;
    std::map<uint64_t, std::vector<uint8_t>> ahead;  // pieces past `hashed`, by range offset
  };

  struct Piece {
    uint64_t offset;
    std::vector<uint8_t> bytes;
  };

  // The hasher thread: the queued pieces, in the order they were read.
  void hash_pieces() const {
    std::unique_lock lock(queue_mu_);
    while (true) {
      work_cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;
      Piece p = std::move(queue_.front());
      queue_.pop_front();
      hashing_ = true;
      const bool failed = !failed_.ok();  // the rest is not worth hashing
      lock.unlock();
      Status st = failed ? Status{} : check(p.bytes, p.offset);
      lock.lock();
      hashing_ = false;
      queued_bytes_ -= p.bytes.size();
      if (spare_.size() < kSpareBuffers) spare_.push_back(std::move(p.bytes));
      if (!st && failed_.ok()) failed_ = st;
      room_cv_.notify_all();
    }
  }

  // Whether [offset, offset + n) meets a range with a checksum.
  bool touches_checked_range(uint64_t offset, size_t n) const {
    const auto& rs = bmap_.ranges;
    for (size_t i = size_t(first_range_from(bmap_, offset) - rs.begin());
         i < rs.size() && range_begin(i) < offset + n; ++i)
      if (!rs[i].digest.empty()) return true;
    return false;
  }

  uint64_t range_begin(size_t i) const { return bmap_.ranges[i].first * bmap_.block_size; }
  uint64_t range_end(size_t i) const {
    return std::min(bmap_.image_size, (bmap_.ranges[i].last + 1) * bmap_.block_size);
  }

  Status check(std::span<const uint8_t> bytes, uint64_t offset) const {
    std::lock_guard lock(mu_);
    const auto& rs = bmap_.ranges;
    size_t i = size_t(first_range_from(bmap_, offset) - rs.begin());
    for (; i < rs.size() && range_begin(i) < offset + bytes.size(); ++i) {
      if (rs[i].digest.empty() || states_[i].done) continue;
      const uint64_t a = std::max(offset, range_begin(i));
      const uint64_t b = std::min(offset + bytes.size(), range_end(i));
      if (a >= b) continue;
      QF_TRY(feed(i, a - range_begin(i), bytes.subspan(a - offset, b - a)));
    }
    return {};
  }

  // Bytes at `at` within range i.
  Status feed(size_t i, uint64_t at, std::span<const uint8_t> bytes) const {
    RangeState& s = states_[i];
    if (!s.ctx) {
      s.ctx.reset(EVP_MD_CTX_new());
      if (!s.ctx || !EVP_DigestInit_ex(s.ctx.get(), md_, nullptr))
        return Error{ErrorKind::Io, bmap_name_ + ": cannot start a " + bmap_.checksum_type + " digest"};
    }
    if (at > s.hashed) {
      // A reader that started inside the range (`qflash read --offset`, a
      // partition) never brings its start: past a bound the range is left
      // unchecked rather than kept in memory.
      if (ahead_bytes_ + bytes.size() > kMaxAhead) {
        for (const auto& [off, piece] : s.ahead) ahead_bytes_ -= piece.size();
        s.ahead.clear();
        s.done = true;
        return {};
      }
      if (s.ahead.try_emplace(at, bytes.begin(), bytes.end()).second) ahead_bytes_ += bytes.size();
      return {};
    }
    if (at + bytes.size() <= s.hashed) return {};  // read before
    auto take = [&](std::span<const uint8_t> b, uint64_t from) {
      const uint64_t skip = s.hashed - from;
      EVP_DigestUpdate(s.ctx.get(), b.data() + skip, b.size() - skip);
      s.hashed = from + b.size();
    };
    take(bytes, at);
    while (!s.ahead.empty() && s.ahead.begin()->first <= s.hashed) {
      auto node = s.ahead.extract(s.ahead.begin());
      ahead_bytes_ -= node.mapped().size();
      if (node.key() + node.mapped().size() > s.hashed) take(node.mapped(), node.key());
    }
    if (s.hashed < range_end(i) - range_begin(i)) return {};
    s.done = true;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(s.ctx.get(), md, &len);
    s.ctx.reset();
    static const char* const kHex = "0123456789abcdef";
    std::string got;
    for (unsigned k = 0; k < len; ++k) {
      got += kHex[md[k] >> 4];
      got += kHex[md[k] & 15];
    }
    const BmapRange& r = bmap_.ranges[i];
    if (got == r.digest) return {};
    return corrupt(name() + ": bytes " + std::to_string(range_begin(i)) + "-" +
                   std::to_string(range_end(i) - 1) + " (bmap range " + std::to_string(r.first) +
                   "-" + std::to_string(r.last) + ") do not match their " + bmap_.checksum_type +
                   " in " + bmap_name_ + " (expected " + r.digest + ", read " + got + ")");
  }

  SourcePtr inner_;
  const Bmap& bmap_;
  std::string bmap_name_;
  const EVP_MD* md_;
  mutable std::mutex mu_;
  mutable std::vector<RangeState> states_;
  mutable uint64_t ahead_bytes_ = 0;  // in every RangeState::ahead

  // The queue of pieces to hash, under queue_mu_.
  mutable std::mutex queue_mu_;
  mutable std::condition_variable work_cv_, room_cv_;
  mutable std::deque<Piece> queue_;
  mutable std::vector<std::vector<uint8_t>> spare_;
  mutable uint64_t queued_bytes_ = 0;
  mutable bool hashing_ = false, closing_ = false;
  mutable Status failed_;  // the first range that did not match
  std::thread hasher_;
};

class BmapLayer final : public Layer {
 public:
  BmapLayer(Bmap bmap, std::string bmap_name, SourcePtr image)
      : bmap_(std::move(bmap)), bmap_name_(std::move(bmap_name)),
        checked_(std::make_shared<CheckedSource>(std::move(image), bmap_, bmap_name_)) {}

  const Source& source() const override { return *checked_; }
  uint64_t size() const override { return (bmap_.image_size + 511) / 512 * 512; }
  const char* format() const override { return "raw"; }
  Status validate() override { return {}; }

  // Mapped blocks are data, read from the image; the others are zeros,
  // never read (as bmaptool skips them).
  Result<LayerStatus> status(uint64_t guest, uint64_t max) override {
    LayerStatus st;
    st.file = checked_.get();
    st.offset_valid = true;
    st.host = guest;
    const auto& rs = bmap_.ranges;
    const uint64_t block = guest / bmap_.block_size;
    auto it = first_range_from(bmap_, guest);
    if (it != rs.end() && it->first <= block && guest < bmap_.image_size) {
      st.kind = LayerStatus::Kind::Data;
      const uint64_t end = std::min(bmap_.image_size, (it->last + 1) * bmap_.block_size);
      st.length = std::min(max, end - guest);
    } else {
      st.kind = LayerStatus::Kind::Zero;
      const uint64_t next = it == rs.end() ? UINT64_MAX : it->first * bmap_.block_size;
      st.length = std::min(max, next > guest ? next - guest : max);
    }
    return st;
  }

  const Bmap& bmap() const { return bmap_; }
  const std::string& bmap_name() const { return bmap_name_; }

 private:
  Bmap bmap_;
  std::string bmap_name_;
  std::shared_ptr<CheckedSource> checked_;
};

}  // namespace

Result<std::unique_ptr<Layer>> open_bmap_layer(SourcePtr image, Bmap bmap, std::string bmap_name) {
  if (image->size() != bmap.image_size)
    return corrupt(bmap_name + ": describes an image of " + std::to_string(bmap.image_size) +
                   " bytes, but " + image->name() + " holds " + std::to_string(image->size()) +
                   ": a bmap for another image");
  if (!bmap.checksum_type.empty() && !EVP_get_digestbyname(bmap.checksum_type.c_str()))
    return unsupported(bmap_name + ": no " + bmap.checksum_type + " digest in this OpenSSL");
  return std::unique_ptr<Layer>(std::make_unique<BmapLayer>(std::move(bmap), std::move(bmap_name),
                                                            std::move(image)));
}

const Bmap* bmap_of(const Layer& layer) {
  auto* b = dynamic_cast<const BmapLayer*>(&layer);
  return b ? &b->bmap() : nullptr;
}

const std::string* bmap_name_of(const Layer& layer) {
  auto* b = dynamic_cast<const BmapLayer*>(&layer);
  return b ? &b->bmap_name() : nullptr;
}

}  // namespace qflash
