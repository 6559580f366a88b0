// The bmap XML with expat: element text is collected and read when the
// element closes. Everything is checked before the layer trusts it: sizes,
// range order and bounds, the checksum type and the digests' lengths.
#include <expat.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "engine/bmap/bmap.h"
#include "io/base/fd.h"

namespace qflash {
namespace {

constexpr size_t kMaxBmapBytes = 256u << 20;  // a bmap of a 2 TiB disk with 1M ranges is ~100 MiB

struct ParseState {
  Bmap bmap;
  std::string text;        // of the element being read
  std::string range_digest;
  std::string error;
  bool in_bmap = false;
};

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return {};
  return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
}

bool parse_u64(const std::string& s, uint64_t& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

void XMLCALL on_start(void* data, const XML_Char* name, const XML_Char** attrs) {
  auto& st = *static_cast<ParseState*>(data);
  st.text.clear();
  if (std::strcmp(name, "bmap") == 0) {
    st.in_bmap = true;
    for (size_t i = 0; attrs[i]; i += 2)
      if (std::strcmp(attrs[i], "version") == 0) st.bmap.version = attrs[i + 1];
  } else if (std::strcmp(name, "Range") == 0) {
    st.range_digest.clear();
    for (size_t i = 0; attrs[i]; i += 2)
      // 2.x and 1.4: chksum (of ChecksumType); 1.0-1.3: sha1.
      if (std::strcmp(attrs[i], "chksum") == 0 || std::strcmp(attrs[i], "sha1") == 0) {
        st.range_digest = attrs[i + 1];
        if (std::strcmp(attrs[i], "sha1") == 0 && st.bmap.checksum_type.empty())
          st.bmap.checksum_type = "sha1";
      }
  }
}

void XMLCALL on_text(void* data, const XML_Char* s, int len) {
  static_cast<ParseState*>(data)->text.append(s, size_t(len));
}

void XMLCALL on_end(void* data, const XML_Char* name) {
  auto& st = *static_cast<ParseState*>(data);
  const std::string text = trim(st.text);
  st.text.clear();
  if (!st.error.empty()) return;
  auto number = [&](uint64_t& out) {
    if (!parse_u64(text, out)) st.error = std::string("<") + name + "> is not a number: '" + text + "'";
  };
  if (std::strcmp(name, "ImageSize") == 0) {
    number(st.bmap.image_size);
  } else if (std::strcmp(name, "BlockSize") == 0) {
    uint64_t v = 0;
    number(v);
    if (st.error.empty() && (v == 0 || v > (1u << 30) || (v & (v - 1))))
      st.error = "<BlockSize> " + text + " is not a power of two up to 1 GiB";
    st.bmap.block_size = uint32_t(v);
  } else if (std::strcmp(name, "BlocksCount") == 0) {
    number(st.bmap.blocks);
  } else if (std::strcmp(name, "ChecksumType") == 0) {
    st.bmap.checksum_type = text;
  } else if (std::strcmp(name, "Range") == 0) {
    BmapRange r;
    const size_t dash = text.find('-');
    const bool ok = dash == std::string::npos
                        ? parse_u64(text, r.first) && (r.last = r.first, true)
                        : parse_u64(trim(text.substr(0, dash)), r.first) &&
                              parse_u64(trim(text.substr(dash + 1)), r.last);
    if (!ok || r.last < r.first) {
      st.error = "<Range> '" + text + "' is not a block range";
      return;
    }
    r.digest = st.range_digest;
    std::transform(r.digest.begin(), r.digest.end(), r.digest.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    st.bmap.ranges.push_back(std::move(r));
  }
}

}  // namespace

uint64_t Bmap::mapped_bytes() const {
  uint64_t n = 0;
  for (const auto& r : ranges)
    n += std::min(image_size, (r.last + 1) * block_size) - r.first * block_size;
  return n;
}

Result<Bmap> parse_bmap(std::string_view xml, const std::string& name) {
  ParseState st;
  XML_Parser p = XML_ParserCreate(nullptr);
  if (!p) return Error{ErrorKind::Io, name + ": out of memory", ENOMEM};
  XML_SetUserData(p, &st);
  XML_SetElementHandler(p, on_start, on_end);
  XML_SetCharacterDataHandler(p, on_text);
  const bool parsed = XML_Parse(p, xml.data(), int(xml.size()), 1) == XML_STATUS_OK;
  const std::string xml_error = parsed ? "" : XML_ErrorString(XML_GetErrorCode(p));
  const auto line = XML_GetCurrentLineNumber(p);
  XML_ParserFree(p);
  auto bad = [&](const std::string& why) { return corrupt(name + ": not a valid bmap: " + why); };
  if (!parsed) return bad(xml_error + " at line " + std::to_string(line));
  if (!st.error.empty()) return bad(st.error);
  Bmap& b = st.bmap;
  if (!st.in_bmap) return bad("no <bmap> element");
  if (!b.version.starts_with("1.") && !b.version.starts_with("2."))
    return unsupported(name + ": bmap version '" + b.version + "' (1.x and 2.x are supported)");
  if (b.block_size == 0) return bad("no <BlockSize>");
  const uint64_t blocks = (b.image_size + b.block_size - 1) / b.block_size;
  if (b.blocks != blocks)
    return bad("<BlocksCount> " + std::to_string(b.blocks) + " does not match <ImageSize> " +
               std::to_string(b.image_size) + " in blocks of " + std::to_string(b.block_size));
  size_t digest_len = 0;
  if (b.checksum_type == "sha256") digest_len = 64;
  else if (b.checksum_type == "sha1") digest_len = 40;
  else if (b.checksum_type == "md5") digest_len = 32;
  else if (!b.checksum_type.empty())
    return unsupported(name + ": bmap checksum type '" + b.checksum_type + "'");
  for (size_t i = 0; i < b.ranges.size(); ++i) {
    const BmapRange& r = b.ranges[i];
    const std::string which = "range " + std::to_string(r.first) + "-" + std::to_string(r.last);
    if (r.last >= blocks) return bad(which + " lies past the image's " + std::to_string(blocks) + " blocks");
    if (i && r.first <= b.ranges[i - 1].last) return bad(which + " overlaps or precedes the one before");
    if (!r.digest.empty() &&
        (r.digest.size() != digest_len || r.digest.find_first_not_of("0123456789abcdef") != std::string::npos))
      return bad(which + " has a checksum that is not " + (b.checksum_type.empty() ? "of a known type" : b.checksum_type));
  }
  return std::move(b);
}

Result<Bmap> read_bmap(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return io_error("open bmap " + path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return io_error("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return usage(path + ": a bmap must be a regular file");
  if (uint64_t(st.st_size) > kMaxBmapBytes) return usage(path + ": too large for a bmap");
  std::string text(size_t(st.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::pread(fd.get(), text.data() + done, text.size() - done, off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("read " + path, errno);
    if (n == 0) break;
    done += size_t(n);
  }
  text.resize(done);
  return parse_bmap(text, path);
}

std::string find_bmap(const std::string& image) {
  namespace fs = std::filesystem;
  std::string base = image;
  while (true) {
    std::error_code ec;
    if (fs::is_regular_file(base + ".bmap", ec)) return base + ".bmap";
    const fs::path p(base);
    if (!p.has_extension() || p.filename() == p.extension()) return {};
    base = (p.parent_path() / p.stem()).string();
  }
}

}  // namespace qflash
