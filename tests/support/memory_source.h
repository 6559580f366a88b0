// MemorySource: a Source over bytes in memory, for the fuzzers and for tests
// that build an image by hand. It refers to nothing else: resolve() names a
// file that cannot exist, so nothing outside the bytes is ever opened.
#pragma once

#include <algorithm>
#include <cstring>

#include "io/source.h"

namespace qflash::test {

class MemorySource final : public Source {
 public:
  explicit MemorySource(std::span<const uint8_t> bytes, std::string name = "memory")
      : bytes_(bytes), name_(std::move(name)) {}

  Result<size_t> read_at(std::span<uint8_t> buf, uint64_t offset) const override {
    if (offset >= bytes_.size() || buf.empty()) return size_t{0};
    size_t n = std::min<uint64_t>(buf.size(), bytes_.size() - offset);
    std::memcpy(buf.data(), bytes_.data() + offset, n);
    return n;
  }
  uint64_t size() const override { return bytes_.size(); }
  const std::string& name() const override { return name_; }
  std::string resolve(const std::string&) const override { return {}; }

 private:
  std::span<const uint8_t> bytes_;
  std::string name_;
};

}  // namespace qflash::test
