// `cmake --install` into a scratch prefix, then programs outside the tree
// built against what it installed: the example with pkg-config (shared and
// --static) and with find_package(qflash) (shared and static), each run on
// an image and its target compared with qemu-img's bytes. Also what the
// install holds: SONAME, man pages, completions.
#include <gtest/gtest.h>

#include "tests/support/support.h"

namespace qflash::test {
namespace {

const std::string kExample = std::string(QFLASH_TESTS_DIR) + "/../tools/example/flash_example.cpp";

class Installed : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir;
    prefix_ = *dir_ / "prefix";
    must("cmake --install " + quote(QFLASH_BUILD_DIR) + " --prefix " + quote(prefix_) +
         " >/dev/null");
    image_ = *dir_ / "disk.qcow2";
    must("qemu-img create -q -f qcow2 " + image_ + " 3M");
    must("qemu-io -c 'write -P 0x5a 4096 1M' -c 'write -c -P 0x33 2M 64k' " + image_ +
         " >/dev/null");
    qemu_raw(image_, *dir_ / "want.raw");
  }
  static void TearDownTestSuite() { delete dir_; }

  // Runs `program` (built against the install) on the image; the target must be exact.
  void expect_flashes(const std::string& program, const std::string& env = "") {
    const std::string target = *dir_ / "target.raw";
    fs::remove(target);
    CommandResult r = run(env + " " + quote(program) + " " + image_ + " " + target);
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("verified"), std::string::npos) << r.out;
    EXPECT_EQ(first_difference(*dir_ / "want.raw", target), -1);
  }

  // GNUInstallDirs' libdir for a prefix other than /usr.
  std::string libdir() const { return prefix_ + "/lib"; }

  static ScratchDir* dir_;
  static std::string prefix_, image_;
};
ScratchDir* Installed::dir_ = nullptr;
std::string Installed::prefix_, Installed::image_;

TEST_F(Installed, WhatIsInstalled) {
  for (const char* f : {"bin/qflash", "bin/qflash-mass", "include/qflash/qflash.h",
                        "include/qflash/error.h", "include/qflash/log.h",
                        "share/man/man1/qflash.1", "share/man/man1/qflash-mass.1",
                        "share/man/man1/qflash-write.1",
                        "share/bash-completion/completions/qflash",
                        "share/zsh/vendor-completions/_qflash"})
    EXPECT_TRUE(fs::exists(prefix_ + "/" + f)) << f;
  const std::string lib = libdir();
  EXPECT_TRUE(fs::exists(lib + "/libqflash.a"));
  CommandResult soname = run("objdump -p " + lib + "/libqflash.so");
  EXPECT_NE(soname.out.find("SONAME               libqflash.so.0"), std::string::npos)
      << soname.out << soname.err;
  EXPECT_NE(must(prefix_ + "/bin/qflash --version").find("qflash 0."), std::string::npos);
  // Every page renders without a warning (groff-base, as man uses it).
  for (const auto& page : fs::directory_iterator(prefix_ + "/share/man/man1")) {
    CommandResult r = run("groff -man -Tutf8 -z -ww " + quote(page.path().string()));
    EXPECT_EQ(r.status, 0) << page.path();
    EXPECT_EQ(r.err, "") << page.path();
  }
  EXPECT_EQ(run("bash -n " + prefix_ + "/share/bash-completion/completions/qflash").status, 0);
}

TEST_F(Installed, PkgConfigShared) {
  const std::string pc = "PKG_CONFIG_PATH=" + libdir() + "/pkgconfig";
  const std::string exe = *dir_ / "pc_shared";
  must(pc + " sh -c 'c++ -std=c++20 -O0 " + quote(kExample) + " -o " + exe +
       " $(pkg-config --cflags --libs qflash)'");
  expect_flashes(exe, "LD_LIBRARY_PATH=" + libdir());
}

// qflash-static.pc: libqflash.a, and the libraries it needs as they are
// (shared on Debian, whose libcurl cannot be linked statically).
TEST_F(Installed, PkgConfigStatic) {
  const std::string pc = "PKG_CONFIG_PATH=" + libdir() + "/pkgconfig";
  const std::string exe = *dir_ / "pc_static";
  must(pc + " sh -c 'c++ -std=c++20 -O0 " + quote(kExample) + " -o " + exe +
       " $(pkg-config --cflags --libs qflash-static)'");
  EXPECT_EQ(run("objdump -p " + exe + " | grep -q libqflash").status, 1);  // not the .so
  expect_flashes(exe);
}

TEST_F(Installed, FindPackage) {
  const std::string build = *dir_ / "consumer";
  must("cmake -S " + quote(std::string(QFLASH_TESTS_DIR) + "/install") + " -B " + build +
       " -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_PREFIX_PATH=" + prefix_ + " -DEXAMPLE=" +
       quote(kExample) + " >/dev/null");
  must("cmake --build " + build + " >/dev/null");
  expect_flashes(build + "/example_shared");  // found through the RPATH CMake sets
  expect_flashes(build + "/example_static");
}

}  // namespace
}  // namespace qflash::test
