// The conformance oracle: qflash's bytes and map against qemu-img's for one
// image, and helpers to build images with qemu-img and qemu-io.
#pragma once

#include <string>

#include "tests/support/support.h"

namespace qflash::test {

// `qemu-img create -q -f qcow2 -o OPTIONS IMAGE SIZE` (options may be empty).
void qcow2_create(const std::string& image, const std::string& size,
                  const std::string& options = "");
// Runs qemu-io on `image` with each of `commands` ("write -P 0x5a 0 64k").
void qemu_io(const std::string& image, const std::vector<std::string>& commands,
             const std::string& format = "qcow2");

// `qemu-img map --output=json` and `qflash map --output=json`, run in `cwd`
// (empty: the current directory) on `image` as named there.
std::string qemu_map(const std::string& image, const std::string& cwd = "");
// `qflash_args` go to every qflash command (e.g. "--backing-dir DIR").
std::string qflash_map(const std::string& image, const std::string& cwd = "",
                       const std::string& qflash_args = "");

// Asserts that `qflash write` produces the bytes of `qemu-img convert -O raw`
// and that both maps are textually equal. Run in `cwd`, scratch files in `scratch`.
void expect_like_qemu(const std::string& image, const ScratchDir& scratch,
                      const std::string& cwd = "", const std::string& qflash_args = "");

}  // namespace qflash::test
