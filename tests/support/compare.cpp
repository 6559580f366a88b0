#include "tests/support/compare.h"

#include <gtest/gtest.h>

namespace qflash::test {
namespace {

std::string in_dir(const std::string& cwd, const std::string& command) {
  return cwd.empty() ? command : "cd " + quote(cwd) + " && " + command;
}

}  // namespace

void qcow2_create(const std::string& image, const std::string& size, const std::string& options) {
  must("qemu-img create -q -f qcow2 " + (options.empty() ? "" : "-o " + quote(options) + " ") +
       quote(image) + " " + size);
}

void qemu_io(const std::string& image, const std::vector<std::string>& commands,
             const std::string& format) {
  std::string cmd = "qemu-io -f " + format;
  for (const auto& c : commands) cmd += " -c " + quote(c);
  must(cmd + " " + quote(image));
}

std::string qemu_map(const std::string& image, const std::string& cwd) {
  return must(in_dir(cwd, "qemu-img map --output=json " + quote(image)));
}

std::string qflash_map(const std::string& image, const std::string& cwd,
                       const std::string& qflash_args) {
  return must(in_dir(cwd, qflash_bin() + " map --output=json " + qflash_args + " " + quote(image)));
}

void expect_like_qemu(const std::string& image, const ScratchDir& scratch, const std::string& cwd,
                      const std::string& qflash_args) {
  const std::string want = scratch / "want.raw", got = scratch / "got.raw";
  must(in_dir(cwd, "qemu-img convert -O raw " + quote(image) + " " + quote(want)));
  CommandResult r = run(in_dir(cwd, qflash_bin() + " write " + qflash_args + " " + quote(image) +
                                         " " + quote(got)));
  EXPECT_EQ(r.status, 0) << image << ": " << r.err;
  EXPECT_EQ(first_difference(want, got), -1) << image << ": qflash write differs from qemu-img";
  EXPECT_EQ(qflash_map(image, cwd, qflash_args), qemu_map(image, cwd)) << image << ": maps differ";
  fs::remove(want);
  fs::remove(got);
}

}  // namespace qflash::test
