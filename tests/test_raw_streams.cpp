// Raw disk images, compressed raw streams (gzip, xz, zstd, bzip2, zip),
// standard input and bmap files: every image made at test time from one raw GPT disk
// with the command-line compressors and bmaptool, and every write compared
// byte for byte with that disk.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <random>

#include "tests/http/servers.h"
#include "tests/support/compare.h"
#include "tests/support/loop_device.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

constexpr uint64_t kDiskMiB = 12;

// A 12 MiB GPT disk: two partitions of random data with a run of zeros, and
// holes (never written) between them.
class RawStreams : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir;
    const std::string disk = *dir_ / "disk.img";
    must("truncate -s " + std::to_string(kDiskMiB) + "M " + disk);
    must("sgdisk -n 1:2048:+4M -n 2:0:+6M " + disk + " >/dev/null");
    std::mt19937 rng(12);
    std::vector<uint8_t> data(3 << 20);
    for (auto& b : data) b = uint8_t(rng() % 7 == 0 ? 0 : rng());  // compressible, not trivially
    write_file(*dir_ / "noise", data);
    must("dd status=none conv=notrunc bs=1M seek=1 if=" + *dir_ / "noise" + " of=" + disk);
    must("dd status=none conv=notrunc bs=1M seek=6 count=3 if=" + *dir_ / "noise" + " of=" + disk);
    must("dd status=none conv=notrunc bs=1M seek=7 count=1 if=/dev/zero of=" + disk);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string path(const std::string& name) { return *dir_ / name; }
  static std::string disk() { return path("disk.img"); }
  // The disk compressed with the tool for `ext`, made when first asked for
  // (each test runs in a process of its own).
  static std::string compressed(const std::string& ext) {
    const std::string name = disk() + ext;
    if (fs::exists(name)) return name;
    // xz with 1 MiB blocks: several blocks, decoded by the multi-threaded decoder.
    if (ext == ".xz") must("xz -k -T2 --block-size=1MiB " + disk());
    if (ext == ".zst") must("zstd -q -k -T0 " + disk());
    if (ext == ".gz") must("gzip -k " + disk());
    if (ext == ".bz2") must("bzip2 -k " + disk());
    if (ext == ".zip") must("zip -q -j " + name + " " + disk());
    return name;
  }

  // `qflash write IMAGE out`, asserting success and equal bytes.
  void expect_written(const std::string& image, const std::string& extra = "") {
    const std::string out = scratch / "out.raw";
    auto r = run(qflash_bin() + " write --yes " + extra + " " + quote(image) + " " + out);
    ASSERT_EQ(r.status, 0) << image << ": " << r.err;
    EXPECT_EQ(first_difference(out, disk()), -1) << image;
  }

  static ScratchDir* dir_;
  ScratchDir scratch;
};
ScratchDir* RawStreams::dir_ = nullptr;

TEST_F(RawStreams, RawFileEqualsAndKeepsHoles) {
  expect_written(disk());
  struct stat st;
  ASSERT_EQ(::stat((scratch / "out.raw").c_str(), &st), 0);
  // 6 MiB of the disk are allocated (two runs of 3 MiB, GPT): its 6 MiB of
  // holes stay holes.
  EXPECT_LT(uint64_t(st.st_blocks) * 512, 13ull << 19);
}

TEST_F(RawStreams, EveryCompressionEqualsTheDisk) {
  for (const char* ext : {".xz", ".zst", ".gz", ".bz2", ".zip"}) expect_written(compressed(ext));
}

// --jobs reaches the stream decoders: one thread takes the single-threaded
// xz and bzip2 decoders, with the same bytes.
TEST_F(RawStreams, OneDecodingThread) {
  for (const char* ext : {".xz", ".bz2"}) expect_written(compressed(ext), "--jobs=1");
}

// Decoded data has no holes to report: its all-zero runs become zero ranges
// in the engine (engine/write's zero-run scan of staged data), so the zeros
// of a compressed image stay holes in a file target.
TEST_F(RawStreams, CompressedZeroRunsBecomeHoles) {
  expect_written(compressed(".zst"));
  struct stat st;
  ASSERT_EQ(::stat((scratch / "out.raw").c_str(), &st), 0);
  // 5 MiB of non-zero data (two runs of 3 MiB, one of them holding a zero
  // MiB), and the first MiB, which is written whole and last.
  EXPECT_LT(uint64_t(st.st_blocks) * 512, 13ull << 19);
}

TEST_F(RawStreams, InfoNamesCompressionAndSize) {
  auto info = must(qflash_bin() + " info --output=json " + compressed(".xz"));
  EXPECT_NE(info.find("\"format\": \"raw\""), std::string::npos) << info;
  EXPECT_NE(info.find("\"compression\": \"xz\""), std::string::npos) << info;
  EXPECT_NE(info.find("\"virtual-size\": " + std::to_string(kDiskMiB << 20)), std::string::npos);
  EXPECT_NE(info.find("\"size-from\": \"xz index\""), std::string::npos) << info;
  info = must(qflash_bin() + " info " + compressed(".gz"));
  EXPECT_NE(info.find("compression: gzip"), std::string::npos) << info;
  EXPECT_NE(info.find("size from: decoded once to count"), std::string::npos) << info;
  info = must(qflash_bin() + " info " + compressed(".zst"));
  EXPECT_NE(info.find("size from: zstd frame headers"), std::string::npos) << info;
}

TEST_F(RawStreams, PartitionsAndReadOfCompressed) {
  auto local = must(qflash_bin() + " partitions " + disk());
  EXPECT_NE(local.find("GPT"), std::string::npos) << local;
  auto xz = must(qflash_bin() + " partitions " + compressed(".xz"));
  EXPECT_EQ(xz.substr(xz.find(':')), local.substr(local.find(':')));
  must("(" + qflash_bin() + " read --offset=6M --length=2M " + compressed(".bz2") + " > " +
       scratch / "part)");
  must("dd status=none bs=1M skip=6 count=2 if=" + disk() + " of=" + scratch / "want");
  EXPECT_EQ(first_difference(scratch / "part", scratch / "want"), -1);
}

TEST_F(RawStreams, MapOfRawLikeQemu) {
  EXPECT_EQ(qflash_map(disk()), must("qemu-img map -f raw --output=json " + disk()));
}

TEST_F(RawStreams, StandardInput) {
  const std::string out = scratch / "out.raw";
  // zstd says its size in the frame header; xz (index), gzip, bzip2 and raw
  // bytes say it only at their end, found as the one pass reaches it.
  for (const std::string& image : {compressed(".zst"), compressed(".xz"), compressed(".gz"),
                                   compressed(".bz2"), compressed(".zip"), disk()}) {
    SCOPED_TRACE(image);
    fs::remove(out);
    auto r = run("(cat " + image + " | " + qflash_bin() + " write --json - " + out + ")");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(first_difference(out, disk()), -1);
    EXPECT_NE(r.out.find("\"virtual_size\": " + std::to_string(kDiskMiB << 20)), std::string::npos) << r.out;
  }
  // A size given is checked: one too small is caught.
  auto r = run("(cat " + compressed(".xz") + " | " + qflash_bin() + " write --image-size=" +
               std::to_string(kDiskMiB) + "M - " + out + ")");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(first_difference(out, disk()), -1);
  r = run("(cat " + compressed(".gz") + " | " + qflash_bin() + " write --image-size=10M - " + out + ")");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("grows past the size 10485760"), std::string::npos) << r.err;
  // So is one too small for a pipe that goes on past it, though the run
  // read no further than the size (it is decoded on to its end at the end).
  r = run("(cat " + disk() + " " + compressed(".zst") + " | " + qflash_bin() + " write --image-size=" +
          std::to_string(kDiskMiB) + "M - " + out + ")");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("standard input: the data grows past the size " + std::to_string(kDiskMiB << 20) +
                       " given (--image-size)"), std::string::npos) << r.err;
}

// A stream whose end says its size ends where it ends: a raw tail that is
// not whole sectors reads as zeros to the next 512 bytes (as qemu-img
// convert writes it), a zero tail stays a hole of a file of the right
// size, and nothing, or a stream of nothing, is no disk.
TEST_F(RawStreams, StreamEndsWhereItEnds) {
  const std::string odd = scratch / "odd.raw", want = scratch / "want.raw", out = scratch / "out.raw";
  must("(cp " + disk() + " " + odd + " && head -c 1000 " + compressed(".zst") + " >> " + odd + ")");
  must("qemu-img convert -f raw -O raw " + odd + " " + want);
  ASSERT_EQ(fs::file_size(want), (kDiskMiB << 20) + 1024);
  for (const char* tool : {"bzip2", "gzip", "cat"}) {
    SCOPED_TRACE(tool);
    fs::remove(out);
    auto r = run(std::string("(") + tool + " < " + odd + " | " + qflash_bin() + " write - " + out + ")");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(fs::file_size(out), fs::file_size(want));
    EXPECT_EQ(first_difference(out, want), -1);
  }
  // 5 MiB of data, then 20 MiB of zeros: the file is 25 MiB, the zeros a hole.
  const std::string tail = scratch / "tail.raw";
  must("(head -c 5M " + disk() + " > " + tail + " && truncate -s 25M " + tail + " && xz -k -T1 " + tail + ")");
  fs::remove(out);
  auto r = run("(cat " + tail + ".xz | " + qflash_bin() + " write - " + out + ")");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(fs::file_size(out), 25u << 20);
  EXPECT_EQ(first_difference(out, tail), -1);
  struct stat st;
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_LT(uint64_t(st.st_blocks) * 512, 6u << 20);
  r = run("(" + qflash_bin() + " write - " + out + " < /dev/null)");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("standard input is empty, not a disk image"), std::string::npos) << r.err;
  r = run("(xz < /dev/null | " + qflash_bin() + " write - " + out + ")");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("the image is empty"), std::string::npos) << r.err;
}

// Onto block devices, a stream without its size (a .bz2 file, written in
// one pass) fills what each device holds up to its end: a device larger
// than the image keeps its bytes past it, one exactly as large is written
// whole, and one too small fails (nothing reported ok, its first MiB zeroed)
// while the others finish.
TEST_F(RawStreams, StreamOfUnknownSizeOntoDevicesOfEverySize) {
  const uint64_t disk_bytes = kDiskMiB << 20;
  std::vector<std::string> files;
  for (uint64_t mib : {8, 10, 12, 20}) {
    files.push_back(scratch / ("dev" + std::to_string(mib)));
    must("(head -c " + std::to_string(mib) + "M /dev/urandom > " + files.back() + ")");
  }
  std::vector<std::unique_ptr<LoopDevice>> loops;
  std::string targets;
  for (const auto& f : files) {
    loops.push_back(std::make_unique<LoopDevice>(f));
    if (!loops.back()->ok()) GTEST_SKIP() << "no loop device";
    targets += " " + loops.back()->path();
  }
  const std::vector<uint8_t> big_before = read_file(files[3]);
  auto r = run(qflash_mass_bin() + " --yes --json --verify " + compressed(".bz2") + targets);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.out.find("\"virtual_size\": " + std::to_string(disk_bytes)), std::string::npos) << r.out;
  for (size_t i : {0, 1}) {
    EXPECT_NE(r.err.find("the image does not fit on " + loops[i]->path() + ": it goes on past the " +
                         std::to_string(fs::file_size(files[i])) + " bytes the target holds"),
              std::string::npos)
        << r.err;
    const std::vector<uint8_t> head = read_file(files[i]);
    EXPECT_TRUE(std::all_of(head.begin(), head.begin() + (1 << 20), [](uint8_t b) { return b == 0; }))
        << files[i] << ": the first MiB of a device the image did not fit is zeroed";
  }
  EXPECT_NE(r.out.find("\"ok\": 2, \"failed\": 2"), std::string::npos) << r.out;
  EXPECT_EQ(first_difference(files[2], disk()), -1);
  const std::vector<uint8_t> big = read_file(files[3]);
  const std::vector<uint8_t> want = read_file(disk());
  EXPECT_TRUE(std::equal(want.begin(), want.end(), big.begin()));
  EXPECT_TRUE(std::equal(big.begin() + long(disk_bytes), big.end(), big_before.begin() + long(disk_bytes)))
      << "past the image the larger device keeps its bytes";
}

// The published SHA-256 of a .img.xz is the compressed file's: checked as
// the stream's one pass reads it, the rest of the file (none here, or a
// trailing padding) read apart; a wrong one fails the run and leaves the
// target unbootable. Standard input has no file to take it of.
TEST_F(RawStreams, Sha256OfCompressedFiles) {
  const std::string out = scratch / "out.raw";
  for (const char* ext : {".xz", ".zst", ".gz", ".bz2"}) {
    SCOPED_TRACE(ext);
    const std::string img = compressed(ext);
    const std::string sha = must("sha256sum " + quote(img)).substr(0, 64);
    auto r = run(qflash_bin() + " write --json --sha256=" + sha + " " + quote(img) + " " + out);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("\"image_sha256\": \"" + sha + "\""), std::string::npos) << r.out;
    EXPECT_EQ(first_difference(out, disk()), -1);
  }
  const std::string wrong(64, 'a');
  auto r = run(qflash_bin() + " write --sha256=" + wrong + " " + quote(compressed(".xz")) + " " + out);
  // 1 if the verdict came before any write completed, else 2.
  EXPECT_TRUE(r.status == 1 || r.status == 2) << r.err;
  EXPECT_NE(r.err.find("is not the expected " + wrong), std::string::npos) << r.err;
  const std::vector<uint8_t> head = read_file(out);
  EXPECT_TRUE(std::all_of(head.begin(), head.begin() + long(std::min<size_t>(head.size(), 1 << 20)),
                          [](uint8_t b) { return b == 0; }))
      << "the first MiB of a target whose image did not check out is zero";
  r = run("(cat " + compressed(".zst") + " | " + qflash_bin() + " write --sha256=" + wrong + " - " +
          out + ")");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("--sha256 needs the image as a file or URL"), std::string::npos) << r.err;
}

TEST_F(RawStreams, TwoTargetsShareOnePass) {
  const std::string a = scratch / "a.raw", b = scratch / "b.raw";
  auto r = run("(cat " + compressed(".zst") + " | " + qflash_mass_bin() + " --yes - " + a + " " + b + ")");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(first_difference(a, disk()), -1);
  EXPECT_EQ(first_difference(b, disk()), -1);
}

TEST_F(RawStreams, TruncatedAndCorruptStreamsFail) {
  struct Case {
    const char* ext;
    bool truncate;
  };
  for (Case c : {Case{".xz", true}, Case{".zst", true}, Case{".gz", true}, Case{".bz2", true},
                 Case{".zip", true}, Case{".zst", false}, Case{".gz", false}, Case{".bz2", false},
                 Case{".xz", false}, Case{".zip", false}}) {
    const std::string bad = scratch / (std::string("bad.img") + c.ext);
    must("cp " + compressed(c.ext) + " " + bad);
    const auto size = fs::file_size(bad);
    if (c.truncate)
      fs::resize_file(bad, size * 2 / 3);
    else
      flip_byte(bad, size / 2);
    auto r = run(qflash_bin() + " write " + bad + " " + scratch / "out.raw");
    EXPECT_NE(r.status, 0) << bad;
    EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
    // One line, naming where (a byte offset), unless the index says it first;
    // a run that failed after writing adds one line per target saying how
    // much reached it.
    size_t fault_lines = 0;
    for (size_t at = 0, end; (end = r.err.find('\n', at)) != std::string::npos; at = end + 1)
      fault_lines += r.err.substr(at, end - at).find("failed after") == std::string::npos;
    EXPECT_EQ(fault_lines, 1u) << r.err;
    EXPECT_NE(r.err.find("byte"), std::string::npos) << r.err;
  }
}

// Zip archives of one image, as `zip` writes them to a file (sizes in the
// local header) and to a pipe (zip64 sizes in a data descriptor after the
// data), deflated and stored, from a file and from standard input; archives
// of two files, encrypted ones and other methods refused, before writing
// where the central directory says so.
TEST_F(RawStreams, ZipArchivesOfOneImage) {
  const std::string out = scratch / "out.raw", piped = scratch / "piped.zip",
                    stored = scratch / "stored.zip";
  must("(cat " + disk() + " | zip -q | cat > " + piped + ")");
  must("zip -q -j -0 " + stored + " " + disk());
  for (const std::string& zip : {compressed(".zip"), piped, stored}) {
    SCOPED_TRACE(zip);
    expect_written(zip);
    auto info = must(qflash_bin() + " info " + zip);
    EXPECT_NE(info.find("compression: zip"), std::string::npos) << info;
    EXPECT_NE(info.find("size from: zip central directory"), std::string::npos) << info;
    fs::remove(out);
    auto r = run("(cat " + zip + " | " + qflash_bin() + " write --json - " + out + ")");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(first_difference(out, disk()), -1);
  }

  const std::string two = scratch / "two.zip", other = scratch / "other.img";
  must("(head -c 1M /dev/urandom > " + other + " && zip -q -j " + two + " " + disk() + " " + other + ")");
  fs::remove(out);
  auto r = run(qflash_bin() + " write " + two + " " + out);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find(two + ": zip archive holds 2 files (qflash writes a zip of one image)"),
            std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  r = run("(cat " + two + " | " + qflash_bin() + " write - " + out + ")");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("a second file follows the first"), std::string::npos) << r.err;

  const std::string secret = scratch / "secret.zip", bzipped = scratch / "bzipped.zip";
  must("zip -q -j -P secret " + secret + " " + disk());
  r = run(qflash_bin() + " write " + secret + " " + out);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find(secret + ": corrupt zip stream (the entry is encrypted)"), std::string::npos) << r.err;
  // Method 12 (bzip2), set in the local header of the deflated archive.
  must("cp " + compressed(".zip") + " " + bzipped);
  must("(printf '\\014' | dd status=none conv=notrunc bs=1 seek=8 of=" + bzipped + ")");
  r = run(qflash_bin() + " write " + bzipped + " " + out);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("compression method 12 (qflash reads deflated and stored entries)"),
            std::string::npos) << r.err;
}

TEST_F(RawStreams, BmapWritesMappedRangesChecked) {
  must("bmaptool -q create -o " + path("disk.img.bmap") + " " + disk());
  // Found beside the compressed image as bmaptool finds it (disk.img.xz -> disk.img.bmap).
  expect_written(compressed(".xz"));
  auto info = must(qflash_bin() + " info " + compressed(".xz"));
  EXPECT_NE(info.find("bmap: " + path("disk.img.bmap") + " (version 2."), std::string::npos) << info;
  // A damaged mapped byte fails the run, naming the range.
  const std::string img = scratch / "damaged.img";
  must("cp --sparse=always " + disk() + " " + img);
  flip_byte(img, (6 << 20) + 5);
  auto r = run(qflash_bin() + " write --json --bmap=" + path("disk.img.bmap") + " " + img + " " +
               scratch / "out.raw");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("do not match their sha256"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bmap range"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("\"status\": \"ok\""), std::string::npos) << r.out;
  // A bmap for an image of another size is refused before writing.
  must("truncate -s +1M " + img);
  r = run(qflash_bin() + " write --bmap=" + path("disk.img.bmap") + " " + img + " " + scratch / "o2");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("a bmap for another image"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(scratch / "o2"));
  fs::remove(path("disk.img.bmap"));
}

// A range's checksum is taken beside the reads, on a thread of its own: a
// damaged last range (the backup GPT) is found after its bytes were read,
// and still fails the run before the first MiB goes out, and `qflash read`.
TEST_F(RawStreams, BmapLastRangeDamagedLeavesNothingBootable) {
  const std::string bmap = scratch / "tail.bmap", img = scratch / "tail.img", out = scratch / "out.raw";
  must("bmaptool -q create -o " + bmap + " " + disk());
  must("cp --sparse=always " + disk() + " " + img);
  const uint64_t size = fs::file_size(img);
  flip_byte(img, size - 100);
  write_file(out, std::vector<uint8_t>(size, 0xff));  // a dirty drive
  auto r = run(qflash_bin() + " write --json --bmap=" + bmap + " " + img + " " + out);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("do not match their sha256"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("\"status\": \"ok\""), std::string::npos) << r.out;
  const auto head = read_file(out);
  ASSERT_GE(head.size(), size_t(1) << 20);
  EXPECT_TRUE(std::all_of(head.begin(), head.begin() + (1 << 20), [](uint8_t b) { return b == 0; }))
      << "the first MiB of a failed run must not be the image's";
  r = run(qflash_bin() + " read --bmap=" + bmap + " " + img);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("do not match their sha256"), std::string::npos) << r.err;
}

// bmap 1.x: sha1 per range, as bmaptool 1.x wrote it.
TEST_F(RawStreams, BmapVersion1) {
  auto sha1 = [&](uint64_t first, uint64_t last) {
    auto out = must("(dd status=none bs=4096 skip=" + std::to_string(first) + " count=" +
                    std::to_string(last - first + 1) + " if=" + disk() + " | sha1sum)");
    return out.substr(0, 40);
  };
  const uint64_t blocks = (kDiskMiB << 20) / 4096;
  // GPT headers, the first partition, the second's data.
  const std::string xml =
      "<?xml version=\"1.0\" ?>\n<bmap version=\"1.3\">\n"
      "<ImageSize> " + std::to_string(kDiskMiB << 20) + " </ImageSize>\n"
      "<BlockSize> 4096 </BlockSize>\n<BlocksCount> " + std::to_string(blocks) + " </BlocksCount>\n"
      "<MappedBlocksCount> 0 </MappedBlocksCount>\n<BlockMap>\n"
      "<Range sha1=\"" + sha1(0, 8) + "\"> 0-8 </Range>\n"
      "<Range sha1=\"" + sha1(256, 1023) + "\"> 256-1023 </Range>\n"
      "<Range sha1=\"" + sha1(1536, 2303) + "\"> 1536-2303 </Range>\n"
      "<Range sha1=\"" + sha1(blocks - 9, blocks - 1) + "\"> " + std::to_string(blocks - 9) + "-" +
      std::to_string(blocks - 1) + " </Range>\n"
      "</BlockMap>\n</bmap>\n";
  std::ofstream(scratch / "v1.bmap") << xml;
  expect_written(compressed(".gz"), "--bmap=" + scratch / "v1.bmap");
}

TEST_F(RawStreams, OverHttp) {
  bypass_proxies();
  Nginx nginx(scratch, dir_->path().string());
  compressed(".xz");
  compressed(".zst");
  compressed(".zip");  // its size from the central directory, read first
  for (const char* ext : {"", ".xz", ".zst", ".zip"}) {
    const std::string out = scratch / "out.raw";
    auto r = run(qflash_bin() + " write " + nginx.url(std::string("/disk.img") + ext) + " " + out);
    ASSERT_EQ(r.status, 0) << ext << ": " << r.err;
    EXPECT_EQ(first_difference(out, disk()), -1) << ext;
  }
}

}  // namespace
}  // namespace qflash::test
