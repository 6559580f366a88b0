// Test support: scratch directories, running commands (qemu-img, qemu-io,
// qflash), and comparing files. Images are made at test time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace qflash::test {

namespace fs = std::filesystem;

// A directory under $TMPDIR removed with everything in it at the end.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

struct CommandResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};

// Runs `command` through /bin/sh, capturing stdout and stderr.
CommandResult run(const std::string& command);
// Runs and fails the current test (ADD_FAILURE) if the status is not 0.
std::string must(const std::string& command);

// Shell-quotes one argument.
std::string quote(const std::string& s);

std::string qflash_bin();
std::string qflash_mass_bin();

std::vector<uint8_t> read_file(const std::string& path);
void write_file(const std::string& path, const std::vector<uint8_t>& bytes);
// Patches bytes of a file in place (for malformed-image tests).
void patch_file(const std::string& path, uint64_t offset, const std::vector<uint8_t>& bytes);
// Inverts one byte in place: damage that always changes it, whatever it held.
void flip_byte(const std::string& path, uint64_t offset);
void patch_be32(const std::string& path, uint64_t offset, uint32_t value);
void patch_be64(const std::string& path, uint64_t offset, uint64_t value);
// Big-endian values of a file (image header fields, table entries).
uint32_t read_be32(const std::string& path, uint64_t offset);
uint64_t read_be64(const std::string& path, uint64_t offset);

// qemu-img convert -O raw of `image` into `raw` (the oracle).
void qemu_raw(const std::string& image, const std::string& raw);

// First differing offset of two files, or -1 if equal (sizes must match too).
int64_t first_difference(const std::string& a, const std::string& b);

}  // namespace qflash::test
