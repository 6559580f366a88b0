// The public API (qflash/qflash.h) as a thin layer over the library's own
// types: Chain, Reader, build_map, the partition parser, open_target,
// write_image and verify_target. Only conversions live here.
#include "qflash/qflash.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "engine/api/features.h"
#include "engine/api/partition_ranges.h"
#include "engine/chain/chain.h"
#include "engine/chain/map.h"
#include "engine/chain/reader.h"
#include "engine/qcow2/qcow2_layer.h"
#include "engine/write/mass_writer.h"
#include "engine/write/verify.h"
#include "io/base/fd.h"
#include "io/base/size.h"
#include "io/targets/targets.h"

#ifndef QFLASH_VERSION
#error "QFLASH_VERSION is set by CMakeLists.txt from project(VERSION)"
#endif

namespace qflash {

const char* version() { return QFLASH_VERSION; }

struct Image::Impl {
  explicit Impl(Chain c) : chain(std::move(c)) {}
  Chain chain;
  std::optional<Reader> reader;  // made on the first read(), then kept (its scratch buffers)
};

Image::Image(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Image::Image(Image&&) noexcept = default;
Image& Image::operator=(Image&&) noexcept = default;
Image::~Image() = default;

Result<Image> Image::open(const std::string& name, const OpenOptions& options) {
  SourceOptions source;
  source.http_headers = options.http_headers;
  QF_ASSIGN(Chain chain, Chain::open(name, source));
  if (options.backing == BackingPolicy::Refuse) {
    const Layer& top = chain.layer(0);
    if (chain.depth() > 1)
      return usage(chain.name() + ": names the backing file " + top.backing_name() +
                   " (refused: no backing files allowed)");
    if (top.data_file())
      return usage(chain.name() + ": names the external data file " + top.data_file()->name() +
                   " (refused: no backing files allowed)");
  }
  return Image(std::make_unique<Impl>(std::move(chain)));
}

const std::string& Image::name() const { return impl_->chain.name(); }
uint64_t Image::size() const { return impl_->chain.size(); }

ImageInfo Image::info() const {
  const Chain& chain = impl_->chain;
  const Layer& top = chain.layer(0);
  ImageInfo info;
  info.format = top.format();
  info.virtual_size = chain.size();
  if (const Qcow2Header* h = qcow2_header_of(top)) {
    info.version = h->version;
    info.cluster_size = uint32_t(h->cluster_size());
    info.compression = codec_name(h->compression);
    info.refcount_bits = 1u << h->refcount_order;
    info.features = qcow2_feature_names(*h);
    info.data_file = h->data_file;
    info.snapshots = h->nb_snapshots;
  }
  for (size_t d = 0; d < chain.depth(); ++d) {
    const Layer& l = chain.layer(d);
    info.chain.push_back({l.source().name(), l.format(), l.size()});
  }
  return info;
}

Status Image::validate() { return impl_->chain.validate(); }

Status Image::read(std::span<uint8_t> buf, uint64_t offset) {
  const uint64_t size = impl_->chain.size();
  if (offset > size || buf.size() > size - offset)
    return usage(name() + ": range " + std::to_string(offset) + "+" + std::to_string(buf.size()) +
                 " is past the virtual size " + std::to_string(size));
  if (!impl_->reader) impl_->reader.emplace(impl_->chain);
  return impl_->reader->read(buf, offset);
}

Result<std::vector<MapRun>> Image::map() {
  QF_ASSIGN(std::vector<MapEntry> entries, build_map(impl_->chain));
  std::vector<MapRun> runs;
  runs.reserve(entries.size());
  for (const MapEntry& e : entries) {
    MapRun r{e.start, e.length, unsigned(e.depth), e.present, e.zero, e.data, std::nullopt, {}};
    if (e.has_offset) r.offset = e.offset;
    if (e.file) r.file = e.file->name();
    runs.push_back(std::move(r));
  }
  return runs;
}

Result<PartitionTableInfo> Image::partitions(uint32_t mbr_sector_size) {
  QF_ASSIGN(PartitionTable t, image_partitions(impl_->chain, {.sector_size = mbr_sector_size}));
  PartitionTableInfo info{table_kind_name(t.kind), t.sector_size, t.disk_id, t.warnings, {}};
  for (const Partition& p : t.partitions)
    info.partitions.push_back({p.number, p.offset, p.length, p.first_sector, p.last_sector, p.type,
                               p.type_name, p.name, p.guid, p.bootable, p.extended});
  return info;
}

namespace {

// {guest start, length} per target: the whole disk, or its partition.
Result<std::vector<std::pair<uint64_t, uint64_t>>> ranges_of(Chain& chain,
                                                             const std::vector<FlashTarget>& targets,
                                                             uint32_t mbr_sector_size) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges(targets.size(), {0, chain.size()});
  PartitionChoice choice{{}, {.sector_size = mbr_sector_size}};
  std::vector<size_t> chosen;  // targets that receive a partition
  for (size_t i = 0; i < targets.size(); ++i)
    if (targets[i].partition != 0) {
      choice.numbers.push_back(targets[i].partition);
      chosen.push_back(i);
    }
  if (chosen.empty()) return ranges;
  QF_ASSIGN(auto partitions, partition_ranges(chain, choice, chosen.size()));
  for (size_t k = 0; k < chosen.size(); ++k) ranges[chosen[k]] = partitions[k];
  return ranges;
}

}  // namespace

Result<FlashReport> flash(Image& image, const std::vector<FlashTarget>& targets,
                          const FlashOptions& options) {
  Chain& chain = image.impl_->chain;
  if (targets.empty()) return usage("no target to write");
  if (options.memory < (1u << 20)) return usage("memory below 1 MiB");
  QF_TRY(chain.validate());
  QF_ASSIGN(auto ranges, ranges_of(chain, targets, options.mbr_sector_size));

  std::vector<WriteTarget> opened;
  for (size_t i = 0; i < targets.size(); ++i) {
    QF_ASSIGN(Target t, open_target(targets[i].path, ranges[i].second,
                                    {.allow_block_device = options.allow_block_devices}));
    opened.push_back({std::move(t), ranges[i].first, ranges[i].second});
  }

  WriteOptions write;
  write.sparse = options.sparse;
  write.memory = options.memory;
  write.jobs = options.jobs;
  write.queue_depth = options.queue_depth;
  write.stop = options.stop;
  write.target_digests = options.verify;
  write.image_digest = false;  // FlashReport has no place for it
  std::vector<FlashProgress> progress(targets.size());
  if (options.progress)
    write.progress = [&](const std::vector<TargetProgress>& p) {
      for (size_t i = 0; i < p.size() && i < progress.size(); ++i)
        progress[i] = {p[i].done, p[i].total, p[i].failed};
      options.progress(progress);
    };

  const auto t0 = std::chrono::steady_clock::now();
  QF_ASSIGN(WriteReport written, write_image(chain, opened, write));
  // An image changed while being read leaves a mix of old and new bytes.
  if (written.error.ok())
    if (auto st = chain.check_unchanged(); !st) written.error = st.take_error();
  const bool stopped = options.stop && options.stop->load();
  std::vector<VerifyResult> verified;
  if (options.verify && written.error.ok() && !stopped)
    verified = verify_targets(opened, written, options.stop);

  FlashReport report;
  report.interrupted = written.interrupted;
  report.error = written.error;
  for (size_t i = 0; i < written.targets.size(); ++i) {
    TargetResult& r = written.targets[i];
    FlashTargetReport t;
    t.path = r.path;
    t.guest_start = ranges[i].first;
    t.length = ranges[i].second;
    t.bytes = r.bytes;
    t.seconds = r.seconds;
    t.status = written.error.ok() || !r.status.ok() ? r.status : written.error;
    t.interrupted = r.status.ok() && written.interrupted && r.bytes < t.length;
    if (i < verified.size() && verified[i].checked) {
      if (verified[i].status.ok()) {
        t.verified = true;
      } else if (verified[i].status.error().kind != ErrorKind::Interrupted) {
        t.status = verified[i].status;
        t.verified = false;
      }
    }
    report.targets.push_back(std::move(t));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

Status check_target(Image& image, const FlashTarget& target, uint32_t mbr_sector_size) {
  QF_ASSIGN(auto ranges, ranges_of(image.impl_->chain, {target}, mbr_sector_size));
  const uint64_t needed = ranges[0].second;
  auto refuse = [&](const std::string& why) {
    return Error{ErrorKind::Target, target.path + ": " + why + "; refusing to write"};
  };
  struct stat st;
  if (::stat(target.path.c_str(), &st) != 0)
    return errno == ENOENT ? Status() : io_error("stat " + target.path, errno);
  if (S_ISREG(st.st_mode)) return {};
  if (!S_ISBLK(st.st_mode)) return refuse("neither a regular file nor a block device");
  if (auto busy = block_device_busy(target.path, st.st_rdev); !busy.empty())
    return Error{ErrorKind::Target, busy + "; refusing to write"};
  Fd fd(::open(target.path.c_str(), O_RDONLY | O_CLOEXEC));
  uint64_t size = 0;
  if (!fd.valid()) return io_error("open " + target.path, errno);
  if (::ioctl(fd.get(), BLKGETSIZE64, &size) < 0) return io_error("size of " + target.path, errno);
  if (size < needed)
    return refuse("the device holds " + std::to_string(size) + " bytes, it must hold " +
                  std::to_string(needed));
  return {};
}

Status verify(Image& image, const FlashTarget& target, uint32_t mbr_sector_size,
              const std::atomic<bool>* stop) {
  Chain& chain = image.impl_->chain;
  QF_ASSIGN(auto ranges, ranges_of(chain, {target}, mbr_sector_size));
  const auto [start, length] = ranges[0];
  Fd fd(::open(target.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return io_error("open " + target.path, errno);
  constexpr size_t kChunk = 1 << 20;
  std::vector<uint8_t> want(kChunk), got(kChunk);
  for (uint64_t done = 0; done < length;) {
    if (stop && stop->load()) return Error{ErrorKind::Interrupted, "verify: interrupted"};
    const size_t n = size_t(std::min<uint64_t>(kChunk, length - done));
    QF_TRY(image.read(std::span(want).first(n), start + done));
    for (size_t have = 0; have < n;) {
      const ssize_t r = ::pread(fd.get(), got.data() + have, n - have, off_t(done + have));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return io_error("read " + target.path + " at " + std::to_string(done + have), errno);
      if (r == 0)
        return Error{ErrorKind::Target, "verify: " + target.path + " ends at " +
                                            std::to_string(done + have) + ", before " +
                                            std::to_string(length)};
      have += size_t(r);
    }
    const auto diff = std::mismatch(want.begin(), want.begin() + ptrdiff_t(n), got.begin());
    if (diff.first != want.begin() + ptrdiff_t(n))
      return Error{ErrorKind::Target, "verify: " + target.path + " differs from the image at offset " +
                                          std::to_string(done + uint64_t(diff.first - want.begin()))};
    done += n;
  }
  return {};
}

}  // namespace qflash
