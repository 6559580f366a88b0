#include "engine/chain/reader.h"

#include <cstring>

namespace qflash {

Status decode_cluster(const Extent& e, std::span<const uint8_t> in, std::span<uint8_t> cluster,
                      Decompressor& dec) {
  DecodeResult r = dec.decompress(e.codec, in, cluster);
  if (r != DecodeResult::Ok)
    return corrupt(e.source->name() + ": " + codec_name(e.codec) + " cluster at host offset " +
                   std::to_string(e.host) + " (guest offset " + std::to_string(e.guest - e.skip) +
                   "): " + decode_result_text(r));
  return {};
}

Status read_extent(const Extent& e, std::span<uint8_t> out, Decompressor& dec,
                   std::vector<uint8_t>& cbuf, std::vector<uint8_t>& cluster) {
  switch (e.kind) {
    case Extent::Kind::Zero:
      std::memset(out.data(), 0, out.size());
      return {};
    case Extent::Kind::Data:
      return e.source->read_padded(out, e.host);
    case Extent::Kind::Compressed: {
      cbuf.resize(e.csize);
      QF_TRY(e.source->read_padded(cbuf, e.host));
      cluster.resize(e.cluster_size);
      QF_TRY(decode_cluster(e, cbuf, cluster, dec));
      std::memcpy(out.data(), cluster.data() + e.skip, out.size());
      return {};
    }
  }
  return {};
}

Status Reader::read(std::span<uint8_t> buf, uint64_t offset) {
  extents_.clear();
  QF_TRY(chain_.resolve(offset, buf.size(), extents_));
  for (const Extent& e : extents_)
    QF_TRY(read_extent(e, buf.subspan(e.guest - offset, e.length), dec_, cbuf_, cluster_));
  return {};
}

}  // namespace qflash
