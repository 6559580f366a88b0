// The reference policy: which backing and data files an image may make us
// open. The name is resolved with realpath and checked against the allowed
// trees, then opened with O_PATH (no open side effects: a FIFO does not
// block, a character device is not started), checked by fstat and by the
// path the kernel reports for the descriptor (so a symlink swapped in
// between is caught), and only then reopened for reading.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "io/file_source.h"
#include "io/http/url.h"
#include "io/source.h"

namespace qflash {
namespace {

namespace fs = std::filesystem;

Error refuse(const Source& referrer, const std::string& what, const std::string& name,
             const std::string& why) {
  return usage(referrer.name() + ": " + what + " '" + redact_url(name) + "' " + why);
}

// realpath, or empty with errno set.
std::string real_path(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr), &std::free);
  return resolved ? std::string(resolved.get()) : std::string();
}

bool inside(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.starts_with(dir) && path[dir.size()] == '/');
}

const char* type_name(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISDIR(mode)) return "a directory";
  return "not a regular file";
}

}  // namespace

Result<SourcePtr> open_reference(const Source& referrer, const std::string& what,
                                 const std::string& name, const SourceOptions& options) {
  const ReferencePolicy& policy = options.references;
  if (policy.refuse_all)
    return refuse(referrer, what, name, "refused: --no-backing allows no backing or data file");
  if (is_url(referrer.name())) {
    if (!is_url(name))
      return refuse(referrer, what, name,
                    "refused: an http(s) image never opens a local file");
    return open_source(name, options);
  }
  // A URL is another origin than a local image: the HTTP source refuses it
  // unless --allow-origin names it, and sends it no headers or credentials.
  if (is_url(name)) return open_source(name, options);

  // The trees a local image may name files in (its own directory is one).
  std::vector<std::string> roots;
  for (const auto& d : policy.dirs) roots.push_back(real_path(d));
  std::erase(roots, std::string());
  auto allowed = [&](const std::string& real) {
    for (const auto& r : roots)
      if (inside(real, r)) return true;
    return false;
  };
  const std::string real = real_path(name);
  if (real.empty()) return io_error("open " + name, errno);
  if (!allowed(real)) {
    std::string trees;
    for (const auto& r : roots) trees += (trees.empty() ? "" : ", ") + r;
    return refuse(referrer, what, name,
                  (real != name ? "(" + real + ") " : std::string()) + "lies outside " +
                      (trees.empty() ? "the allowed directories" : trees) +
                      "; pass --backing-dir DIR to allow it");
  }
  Fd path_fd(::open(real.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!path_fd.valid()) return io_error("open " + name, errno);
  struct stat st;
  if (::fstat(path_fd.get(), &st) < 0) return io_error("stat " + name, errno);
  // What the descriptor really is, whatever happened to the path meanwhile.
  const std::string proc = "/proc/self/fd/" + std::to_string(path_fd.get());
  std::error_code ec;
  const std::string opened = fs::read_symlink(proc, ec).string();
  if (ec || !allowed(opened))
    return refuse(referrer, what, name, "changed while being opened; refusing it");
  if (S_ISBLK(st.st_mode)) {
    if (!policy.allow_devices)
      return refuse(referrer, what, name,
                    "is a block device; pass --allow-device-backing to allow it");
  } else if (!S_ISREG(st.st_mode)) {
    return refuse(referrer, what, name, std::string("is ") + type_name(st.st_mode) +
                                            ", never opened as a backing or data file");
  }
  Fd fd(::open(proc.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return io_error("open " + name, errno);
  // O_NONBLOCK only guarded the open; reads of a file or disk must block.
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return file_source_over(name, std::move(fd));
}

}  // namespace qflash
