// The partitioned disks the partition tests share, built at test time with
// sgdisk, sfdisk and fdisk on sparse raw files, with random data at the start
// and end of every partition so a wrong offset shows; loop devices; and small
// helpers to read fields out of JSON lines and sgdisk/sfdisk output.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/loop_device.h"
#include "tests/support/support.h"

namespace qflash::test {

struct Expected {
  uint64_t first, last;  // sectors, inclusive
  std::string type, name;
};

// Random bytes at both ends of [first, last] sectors of `raw`.
inline void scribble(const std::string& raw, uint64_t first, uint64_t last, uint32_t ss) {
  const uint64_t bytes = (last - first + 1) * ss, chunk = std::min<uint64_t>(bytes / 2, 96 * 1024);
  for (uint64_t off : {first * ss, first * ss + bytes - chunk})
    must("dd if=/dev/urandom of=" + quote(raw) + " bs=4096 count=" + std::to_string(chunk) +
         " iflag=count_bytes seek=" + std::to_string(off) +
         " oflag=seek_bytes conv=notrunc status=none");
}

// 64 MiB GPT, five named partitions of five types; the last ends at the last
// usable sector (not a MiB multiple).
inline std::string make_gpt5(const ScratchDir& dir) {
  std::string raw = dir / "gpt5.raw";
  must("truncate -s 64M " + raw);
  must(
      "sgdisk -n1:2048:+4M -t1:ef00 -c1:'EFI system' -n2:0:+16M -t2:8304 -c2:root"
      " -n3:0:+8M -t3:8200 -c3:swap -n4:0:+8M -t4:0700 -c4:'Données ü€' -n5:0:0 -t5:8e00"
      " -c5:'lvm pv' " +
      raw);
  const uint64_t firsts[] = {2048, 10240, 43008, 59392, 75776};
  const uint64_t lasts[] = {10239, 43007, 59391, 75775, 131038};
  for (int i = 0; i < 5; ++i) scribble(raw, firsts[i], lasts[i], 512);
  return raw;
}

// 64 MiB MBR: three primaries (one bootable), an extended partition and
// three logical ones (5, 6, 7).
inline std::string make_mbr(const ScratchDir& dir) {
  std::string raw = dir / "mbr.raw";
  must("truncate -s 64M " + raw);
  // Braces: run() redirects stdin from /dev/null, the pipe must win.
  must(
      "{ printf 'label: dos\\nlabel-id: 0x1234abcd\\nstart=2048, size=8M, type=83, bootable\\n"
      "size=4M, type=c\\nsize=4M, type=ef\\nsize=40M, type=5\\nsize=4M, type=83\\n"
      "size=6M, type=82\\nsize=12M, type=8e\\n' | sfdisk -q " +
      raw + "; }");
  return raw;
}

// 64 MiB GPT with 4096-byte logical sectors (fdisk -b 4096 honours it on a
// file, as sgdisk does only on a 4K loop device): EFI System and a named
// Linux filesystem partition.
inline std::string make_gpt4k(const ScratchDir& dir) {
  std::string raw = dir / "gpt4k.raw";
  must("truncate -s 64M " + raw);
  must(
      "{ printf 'g\\nn\\n1\\n\\n+4M\\nt\\n1\\nn\\n2\\n\\n+8M\\nx\\nn\\n2\\nroot fs\\nr\\nw\\n' | "
      "fdisk -b 4096 " +
      raw + "; }");
  scribble(raw, 256, 1279, 4096);
  scribble(raw, 1280, 3327, 4096);
  return raw;
}

inline std::string convert(const std::string& raw, const std::string& out, bool compress) {
  must("qemu-img convert -f raw -O qcow2 " + std::string(compress ? "-c " : "") + quote(raw) + " " +
       quote(out));
  return out;
}


// A field of one of our JSON lines: "key": "text" or "key": 123.
inline std::string json_field(const std::string& line, const std::string& key) {
  std::smatch m;
  if (std::regex_search(line, m, std::regex("\"" + key + "\": (\"([^\"]*)\"|([^,}]*))")))
    return m[2].matched ? m[2].str() : m[3].str();
  return "<missing " + key + ">";
}

// Our JSON partition lines by number.
inline std::map<unsigned, std::string> json_partitions(const std::string& json) {
  std::map<unsigned, std::string> out;
  std::regex line("\\{\"number\": (\\d+)[^\\n]*");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), line); it != std::sregex_iterator();
       ++it)
    out[unsigned(std::stoul((*it)[1]))] = (*it)[0];
  return out;
}

// "First sector: 2048 (at 1024.0 KiB)" -> "2048"; the text after `label: `
// up to the end of the line (sgdisk -i).
inline std::string after(const std::string& text, const std::string& label) {
  auto pos = text.find(label + ": ");
  if (pos == std::string::npos) return "<missing " + label + ">";
  pos += label.size() + 2;
  return text.substr(pos, text.find('\n', pos) - pos);
}

}  // namespace qflash::test
