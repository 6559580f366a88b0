// Holes of a raw file read as zeros and are reported as such, as qemu's
// file driver does through SEEK_DATA/SEEK_HOLE.
#include "engine/image/raw_layer.h"

namespace qflash {
namespace {

class RawLayer final : public Layer {
 public:
  explicit RawLayer(SourcePtr src) : src_(std::move(src)) {}
  const Source& source() const override { return *src_; }
  // qemu counts sizes in 512-byte sectors: a raw file's tail is rounded up
  // and reads as zeros.
  uint64_t size() const override { return (src_->size() + 511) / 512 * 512; }
  const char* format() const override { return "raw"; }
  Status validate() override { return {}; }

  Result<LayerStatus> status(uint64_t guest, uint64_t max) override {
    LayerStatus st;
    st.file = src_.get();
    st.offset_valid = true;
    st.host = guest;
    st.length = max;
    const uint64_t file_size = src_->size();
    const int64_t data = guest < file_size ? src_->next_data(guest) : int64_t(file_size);
    if (data < 0) {  // no information: all data, as qemu assumes
      st.kind = LayerStatus::Kind::Data;
    } else if (uint64_t(data) > guest || uint64_t(data) >= file_size) {
      st.kind = LayerStatus::Kind::Zero;  // a hole, or the tail past the end
      if (uint64_t(data) < file_size) st.length = std::min<uint64_t>(max, uint64_t(data) - guest);
    } else {
      st.kind = LayerStatus::Kind::Data;
      const int64_t hole = src_->next_hole(guest);
      if (hole > int64_t(guest)) st.length = std::min<uint64_t>(max, uint64_t(hole) - guest);
    }
    return st;
  }

 private:
  SourcePtr src_;
};

}  // namespace

std::unique_ptr<Layer> open_raw_layer(SourcePtr src) {
  return std::make_unique<RawLayer>(std::move(src));
}

}  // namespace qflash
