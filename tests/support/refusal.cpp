#include "tests/support/refusal.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace qflash::test {
namespace {

void expect_one_line(const CommandResult& r, const std::string& what, const std::string& image,
                     const std::vector<std::string>& fault) {
  EXPECT_EQ(r.status, 1) << what << ": " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << ": " << r.err;
  EXPECT_NE(r.err.find(image), std::string::npos) << what << " does not name " << image << ": " << r.err;
  for (const auto& f : fault)
    EXPECT_NE(r.err.find(f), std::string::npos) << what << " does not say '" << f << "': " << r.err;
}

}  // namespace

std::string expect_refused(const std::string& image, const std::vector<std::string>& fault) {
  ScratchDir dir;
  const std::string target = dir / "target.raw", missing = dir / "missing.raw";
  const std::vector<uint8_t> known(8192, 0xee);
  write_file(target, known);
  CommandResult r = run(qflash_bin() + " write " + quote(image) + " " + quote(target));
  expect_one_line(r, "write", image, fault);
  EXPECT_EQ(read_file(target), known) << "the target was touched";
  CommandResult m = run(qflash_bin() + " write " + quote(image) + " " + quote(missing));
  expect_one_line(m, "write to a new file", image, fault);
  EXPECT_FALSE(fs::exists(missing)) << "the target was created";
  expect_one_line(run(qflash_bin() + " map --output=json " + quote(image)), "map", image, fault);
  return r.err;
}

int64_t find_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  const auto data = read_file(path);
  auto it = std::search(data.begin(), data.end(), bytes.begin(), bytes.end());
  return it == data.end() ? -1 : it - data.begin();
}

}  // namespace qflash::test
