// Holes of a raw file read as zeros and are reported as such, as qemu's
// file driver does through SEEK_DATA/SEEK_HOLE.
#include "engine/raw_layer.h"

namespace qflash {
namespace {

class RawLayer final : public Layer {
 public:
  explicit RawLayer(SourcePtr src) : src_(std::move(src)) {}
  const Source& source() const override { return *src_; }
  uint64_t size() const override { return src_->size(); }
  const char* format() const override { return "raw"; }
  Status validate() override { return {}; }

  Result<LayerStatus> status(uint64_t guest, uint64_t max) override {
    LayerStatus st;
    st.file = src_.get();
    st.offset_valid = true;
    st.host = guest;
    const int64_t data = src_->next_data(guest);
    if (data > int64_t(guest)) {
      st.kind = LayerStatus::Kind::Zero;
      st.length = std::min<uint64_t>(max, uint64_t(data) - guest);
    } else {
      st.kind = LayerStatus::Kind::Data;
      const int64_t hole = src_->next_hole(guest);
      st.length = hole > int64_t(guest) ? std::min<uint64_t>(max, uint64_t(hole) - guest) : max;
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
