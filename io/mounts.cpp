#include "io/mounts.h"

#include <libmount/libmount.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>

namespace qflash {
namespace {

struct TableDeleter {
  void operator()(libmnt_table* t) const { mnt_unref_table(t); }
};
struct IterDeleter {
  void operator()(libmnt_iter* i) const { mnt_free_iter(i); }
};
using Table = std::unique_ptr<libmnt_table, TableDeleter>;
using Iter = std::unique_ptr<libmnt_iter, IterDeleter>;

bool contains(const std::vector<dev_t>& devices, dev_t dev) {
  return std::find(devices.begin(), devices.end(), dev) != devices.end();
}

}  // namespace

std::optional<std::string> mounted_on(const std::vector<dev_t>& devices) {
  Table table(mnt_new_table());
  if (!table || mnt_table_parse_file(table.get(), "/proc/self/mountinfo") != 0)
    return "(mount table unreadable)";
  Iter iter(mnt_new_iter(MNT_ITER_FORWARD));
  if (!iter) return "(mount table unreadable)";
  libmnt_fs* fs = nullptr;
  while (mnt_table_next_fs(table.get(), iter.get(), &fs) == 0)
    if (contains(devices, mnt_fs_get_devno(fs))) {
      const char* target = mnt_fs_get_target(fs);
      return target ? target : "?";
    }
  return std::nullopt;
}

bool used_as_swap(const std::vector<dev_t>& devices) {
  Table table(mnt_new_table());
  if (!table || mnt_table_parse_swaps(table.get(), nullptr) != 0) return false;
  Iter iter(mnt_new_iter(MNT_ITER_FORWARD));
  if (!iter) return false;
  libmnt_fs* fs = nullptr;
  while (mnt_table_next_fs(table.get(), iter.get(), &fs) == 0) {
    const char* source = mnt_fs_get_source(fs);
    struct stat st;
    if (source && ::stat(source, &st) == 0 && S_ISBLK(st.st_mode) && contains(devices, st.st_rdev))
      return true;
  }
  return false;
}

}  // namespace qflash
