// Drives as the kernel shows them in sysfs, without udev: the whole disks
// present, each one's identity (vendor, model, serial, size) and the
// physical slot it sits in (USB port path, ATA port, SCSI host and channel,
// or a loop device's backing file). The monitor is in io/devices/monitor.h.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/base/error.h"

namespace qflash {

struct Drive {
  std::string name;          // kernel name: "sdb", "loop3", "nvme0n1"
  std::string path;          // "/dev/sdb"
  dev_t dev = 0;
  uint64_t size = 0;         // bytes; 0: no medium (an empty reader, a free loop device)
  std::string vendor, model, serial;  // as sysfs has them, trimmed; empty if unknown
  std::string slot;          // physical port, stable across re-insertion (see slot_name)
  std::string backing_file;  // of a loop device
  std::vector<std::string> by_path;  // names in /dev/disk/by-path (only where udev runs)
};

// Kernel names of the whole disks present (no partitions), sorted.
std::vector<std::string> list_disks();

// Reads the drive `name` ("sdb") from /sys/class/block; an error if it is
// not there or is a partition.
Result<Drive> read_drive(const std::string& name);

// The drive behind a block device path (a partition gives its whole disk);
// an error for anything but a block device.
Result<Drive> drive_for_path(const std::string& path);

// The slot of a disk from its canonical sysfs path
// ("/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.3/1-1.3:1.0/host6/...")
// and, for a loop device, its backing file:
//   "usb-1-1.3"        USB bus 1, hub port path 1.3 (the last USB device on the path);
//   "usb-1-1.3:2"      LUN 2 of it (a card reader with several card slots)
//   "ata-3"            libata port 3
//   "scsi-6:0"         SCSI host 6, channel 0 (SAS, other HBAs)
//   "nvme-0000:03:00.0", "pci-0000:00:02.0"  the PCI function of the controller
//   "loop:/path/file"  a loop device, by the file it shows
// and "dev:NAME" for anything else. Pure: reads nothing.
std::string slot_name(const std::string& sysfs_path, const std::string& name,
                      const std::string& backing_file);

// The whole disks holding the mounts of / and /boot (and /boot/efi), found
// through partitions and device-mapper slaves: drives never to write.
std::vector<dev_t> system_disks();

// Why the whole disk `drive` must not be written: it holds / or /boot, it or
// a partition of it is mounted, swap, or held (LVM, RAID, dm); "" if free.
std::string drive_in_use(const Drive& drive);

}  // namespace qflash
