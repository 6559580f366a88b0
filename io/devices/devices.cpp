#include "io/devices/devices.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>

#include "io/targets/targets.h"

namespace qflash {
namespace {

namespace fs = std::filesystem;

// A sysfs attribute with surrounding blanks removed and control bytes
// dropped (vendors pad with spaces; a serial must not steer a terminal).
std::string attribute(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string text;
  for (unsigned char c : raw)
    if (c >= 0x20 && c != 0x7f) text += char(c);
  const auto first = text.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

// The unit serial number from SCSI VPD page 0x80 (header of 4 bytes, the
// length in byte 3), which ATA and SAS disks expose and sysfs passes raw.
std::string vpd_serial(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (raw.size() < 4 || uint8_t(raw[1]) != 0x80) return {};
  const size_t length = std::min<size_t>(uint8_t(raw[3]), raw.size() - 4);
  std::string text;
  for (unsigned char c : raw.substr(4, length))
    if (c >= 0x20 && c != 0x7f) text += char(c);
  const auto first = text.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

// The serial of the drive: NVMe and virtio have a `serial` attribute, a USB
// stick's is on its USB device up the path, ATA and SAS disks have VPD 0x80.
std::string read_serial(const fs::path& block, const fs::path& canonical) {
  for (const fs::path& f : {block / "device" / "serial", block / "serial"})
    if (auto s = attribute(f); !s.empty()) return s;
  std::error_code ec;
  for (fs::path p = canonical; p.has_relative_path() && p != "/sys/devices"; p = p.parent_path())
    if (fs::exists(p / "idVendor", ec) && fs::exists(p / "serial", ec)) return attribute(p / "serial");
  return vpd_serial(block / "device" / "vpd_pg80");
}

bool parse_dev(const std::string& text, dev_t& dev) {
  unsigned maj = 0, min = 0;
  char colon = 0;
  std::istringstream in(text);
  if (!(in >> maj >> colon >> min) || colon != ':') return false;
  dev = makedev(maj, min);
  return true;
}

fs::path sysfs_of(dev_t dev) {
  std::error_code ec;
  fs::path p = fs::canonical(
      "/sys/dev/block/" + std::to_string(major(dev)) + ":" + std::to_string(minor(dev)), ec);
  return ec ? fs::path() : p;
}

// The whole disks under `dev`: itself, its disk if it is a partition, and
// for a device-mapper or md device every disk it is made of.
void whole_disks(dev_t dev, std::set<dev_t>& out, int depth = 0) {
  fs::path dir = sysfs_of(dev);
  if (dir.empty() || depth > 8) return;
  if (fs::exists(dir / "partition")) {
    dev_t disk;
    if (parse_dev(attribute(dir.parent_path() / "dev"), disk)) whole_disks(disk, out, depth + 1);
    return;
  }
  bool stacked = false;
  std::error_code ec;
  for (const auto& slave : fs::directory_iterator(dir / "slaves", ec)) {
    dev_t d;
    if (parse_dev(attribute(slave.path() / "dev"), d)) {
      whole_disks(d, out, depth + 1);
      stacked = true;
    }
  }
  if (!stacked) out.insert(dev);
}

}  // namespace

std::vector<std::string> list_disks() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/class/block", ec))
    if (!fs::exists(entry.path() / "partition", ec)) out.push_back(entry.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

std::string slot_name(const std::string& sysfs_path, const std::string& name,
                      const std::string& backing_file) {
  static const std::regex usb_device(R"(\d+-\d+(\.\d+)*)");
  static const std::regex ata_port(R"(ata(\d+))");
  static const std::regex scsi_target(R"(target(\d+):(\d+):\d+)");
  static const std::regex pci_function(R"([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])");
  static const std::regex scsi_device(R"(\d+:\d+:\d+:(\d+))");
  if (name.starts_with("loop")) return "loop:" + (backing_file.empty() ? name : backing_file);
  std::vector<std::string> parts;
  for (const auto& part : fs::path(sysfs_path)) parts.push_back(part.string());
  // The innermost of each kind: a hub's port path ends at the stick itself,
  // and a USB stick also shows SCSI hosts below its USB device.
  std::string usb, ata, scsi, pci, lun;
  std::smatch m;
  for (const auto& part : parts) {
    if (std::regex_match(part, usb_device)) usb = "usb-" + part;
    else if (std::regex_match(part, m, scsi_device)) lun = m[1].str();
    else if (std::regex_match(part, m, ata_port)) ata = "ata-" + m[1].str();
    else if (std::regex_match(part, m, scsi_target)) scsi = "scsi-" + m[1].str() + ":" + m[2].str();
    else if (std::regex_match(part, pci_function)) pci = "pci-" + part;
  }
  // A multi-slot card reader is one USB device with a LUN per card slot.
  if (!usb.empty() && !lun.empty() && lun != "0") usb += ":" + lun;
  for (const std::string* s : {&usb, &ata, &scsi, &pci})
    if (!s->empty()) return *s;
  return "dev:" + name;
}

Result<Drive> read_drive(const std::string& name) {
  const fs::path block = fs::path("/sys/class/block") / name;
  std::error_code ec;
  const fs::path canonical = fs::canonical(block, ec);
  if (ec) return io_error("sysfs " + block.string(), ec.value());
  if (fs::exists(block / "partition", ec))
    return Error{ErrorKind::Usage, name + " is a partition, not a whole drive"};
  Drive d;
  d.name = name;
  d.path = "/dev/" + name;
  if (!parse_dev(attribute(block / "dev"), d.dev))
    return Error{ErrorKind::Io, "sysfs " + (block / "dev").string() + ": no device number"};
  uint64_t sectors = 0;
  std::ifstream(block / "size") >> sectors;
  d.size = sectors * 512;  // sysfs counts 512-byte sectors whatever the device's
  d.vendor = attribute(block / "device" / "vendor");
  // virtio's "vendor" is a PCI id, not a name.
  if (d.vendor.starts_with("0x")) d.vendor.clear();
  d.model = attribute(block / "device" / "model");
  d.serial = read_serial(block, canonical);
  d.backing_file = attribute(block / "loop" / "backing_file");
  d.slot = slot_name(canonical.string(), name, d.backing_file);
  for (const auto& link : fs::directory_iterator("/dev/disk/by-path", ec))
    if (fs::canonical(link.path(), ec) == d.path) d.by_path.push_back(link.path().filename());
  std::sort(d.by_path.begin(), d.by_path.end());
  return d;
}

Result<Drive> drive_for_path(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return io_error("stat " + path, errno);
  if (!S_ISBLK(st.st_mode)) return Error{ErrorKind::Usage, path + " is not a block device"};
  fs::path dir = sysfs_of(st.st_rdev);
  if (dir.empty()) return Error{ErrorKind::Io, path + ": not in sysfs"};
  if (fs::exists(dir / "partition")) dir = dir.parent_path();
  return read_drive(dir.filename());
}

std::vector<dev_t> system_disks() {
  std::set<dev_t> disks;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    std::istringstream f(line);
    std::string id, parent, majmin, root, mountpoint;
    f >> id >> parent >> majmin >> root >> mountpoint;
    dev_t dev;
    if ((mountpoint == "/" || mountpoint == "/boot" || mountpoint == "/boot/efi") &&
        parse_dev(majmin, dev))
      whole_disks(dev, disks);
  }
  return {disks.begin(), disks.end()};
}

std::string drive_in_use(const Drive& drive) {
  const auto system = system_disks();
  if (std::find(system.begin(), system.end(), drive.dev) != system.end())
    return drive.path + " holds / or /boot";
  return block_device_busy(drive.path, drive.dev);
}

}  // namespace qflash
