// The pure parts of station mode, in memory: slot names from sysfs paths,
// --slot matching, the --slot-names file, the terminal table (fits, clips,
// never more lines than the terminal has), the JSON of events and records;
// and the system disk found as in use. Also the progress text they share
// with qflash write.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "engine/station/slots.h"
#include "io/devices/devices.h"
#include "tests/support/mass_support.h"
#include "tools/cli/progress.h"
#include "tools/cli/station_view.h"

namespace qflash::test {
namespace {

using cli::event_json;
using cli::record_json;
using cli::station_table;

TEST(StationSlots, NamesFromSysfsPaths) {
  EXPECT_EQ(slot_name("/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.3/1-1.3:1.0/host6/"
                      "target6:0:0/6:0:0:0/block/sdb",
                      "sdb", ""),
            "usb-1-1.3");
  EXPECT_EQ(slot_name("/sys/devices/pci0000:00/0000:00:14.0/usb2/2-4/2-4:1.0/host9/"
                      "target9:0:0/9:0:0:2/block/sdf",
                      "sdf", ""),
            "usb-2-4:2");
  EXPECT_EQ(slot_name("/sys/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/block/sdc",
                      "sdc", ""),
            "ata-3");
  EXPECT_EQ(slot_name("/sys/devices/pci0000:00/0000:00:03.0/0000:02:00.0/host7/port-7:0/"
                      "end_device-7:0/target7:0:1/7:0:1:0/block/sdd",
                      "sdd", ""),
            "scsi-7:0");
  EXPECT_EQ(slot_name("/sys/devices/pci0000:00/0000:00:1d.0/0000:03:00.0/nvme/nvme0/nvme0n1",
                      "nvme0n1", ""),
            "pci-0000:03:00.0");
  EXPECT_EQ(slot_name("/sys/devices/virtual/block/loop4", "loop4", "/srv/a.img"), "loop:/srv/a.img");
  EXPECT_EQ(slot_name("/sys/devices/virtual/block/zram0", "zram0", ""), "dev:zram0");
}

TEST(StationSlots, PatternsMatchSlotByPathDeviceOrBackingFile) {
  Drive d;
  d.name = "sdb";
  d.path = "/dev/sdb";
  d.slot = "usb-1-1.3";
  d.by_path = {"pci-0000:00:14.0-usb-0:1.3:1.0-scsi-0:0:0:0"};
  EXPECT_TRUE(slot_matches({"usb-1-1.*"}, d));
  EXPECT_TRUE(slot_matches({"nothing", "*usb-0:1.3:*"}, d));
  EXPECT_TRUE(slot_matches({"/dev/sd[b-d]"}, d));
  EXPECT_FALSE(slot_matches({"usb-1-1.4", "/dev/sdc", "loop:*"}, d));
  EXPECT_FALSE(slot_matches({}, d));
  Drive loop;
  loop.name = "loop9";
  loop.path = "/dev/loop9";
  loop.backing_file = "/tmp/x/a.img";
  loop.slot = "loop:/tmp/x/a.img";
  EXPECT_TRUE(slot_matches({"/tmp/x/*"}, loop));
  EXPECT_FALSE(slot_matches({"/tmp/y/*"}, loop));
}

TEST(StationSlots, SlotNamesFile) {
  auto names = parse_slot_names("# hub on the left\n\nusb-1-1.1 A1\n  usb-1-1.2\tA 2  \n", "f");
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->size(), 2u);
  EXPECT_EQ((*names)[1], std::make_pair(std::string("usb-1-1.2"), std::string("A 2")));
  Drive d;
  d.slot = "usb-1-1.2";
  EXPECT_EQ(slot_label(*names, d), "A 2");
  d.slot = "usb-1-1.9";
  EXPECT_EQ(slot_label(*names, d), "usb-1-1.9");
  auto bad = parse_slot_names("usb-1-1.1 A1\nlonely\n", "names.txt");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "names.txt:2: expected 'SLOT LABEL'");
}

std::vector<SlotStatus> sample_slots(size_t n) {
  std::vector<SlotStatus> slots;
  for (size_t i = 0; i < n; ++i) {
    SlotStatus s;
    s.slot = "usb-1-1." + std::to_string(i);
    s.label = i == 1 ? "a label far too long to be shown\x1b[2J whole" : "A" + std::to_string(i);
    s.state = i % 3 == 0 ? SlotState::Writing : i % 3 == 1 ? SlotState::Failed : SlotState::Empty;
    s.done = 4u << 20;
    s.total = 16u << 20;
    s.seconds = 2;
    s.error = "write /dev/sdb at 4194304: Input/output error";
    if (s.state != SlotState::Empty) {
      s.drive = Drive{};
      s.drive->path = "/dev/sd" + std::string(1, char('b' + i));
      s.drive->model = "Cruzer Blade Extra Long Model Name";
      s.drive->serial = "4C530001230101117583";
    }
    slots.push_back(s);
  }
  return slots;
}

TEST(StationTable, FitsTheTerminalAndClips) {
  const auto slots = sample_slots(6);
  for (size_t columns : {20, 40, 79, 200})
    for (size_t rows : {1, 3, 5, 24}) {
      auto lines = station_table(slots, {3, 1, 0, 0}, "image.qcow2 (16 MiB)", columns, rows);
      EXPECT_LE(lines.size(), rows);
      for (const auto& l : lines) {
        EXPECT_LE(l.size(), columns) << l;
        EXPECT_EQ(l.find('\x1b'), std::string::npos) << l;  // no escape from a label
      }
    }
  auto lines = station_table(slots, {3, 1, 0, 0}, "image.qcow2", 120, 24);
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[0].rfind("good 3  failed 1  refused 0", 0), 0u) << lines[0];
  EXPECT_NE(lines[2].find("writing 25%"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("ETA 0:06"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("a label far too~"), std::string::npos) << lines[3];
  EXPECT_NE(lines[3].find("FAILED: write /dev/sdb"), std::string::npos) << lines[3];
  EXPECT_NE(lines[4].find("empty"), std::string::npos) << lines[4];
  // Too many slots: the last line sums up the rest.
  lines = station_table(sample_slots(30), {}, "image.qcow2", 80, 10);
  ASSERT_EQ(lines.size(), 10u);
  EXPECT_EQ(lines.back().rfind("... 23 more slots (7 busy)", 0), 0u) << lines.back();
}

TEST(StationJson, EventAndRecordParse) {
  const auto slots = sample_slots(2);
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  DriveRecord r;
  r.time = t;
  r.slot = "usb-1-1.1";
  r.label = "A\"1";
  r.drive = *slots[1].drive;
  r.image = "img.qcow2";
  r.bytes = 7;
  r.seconds = 1.5;
  r.result = "failed";
  r.verify = "skipped";
  r.error = "bad\nthing";
  // One JSON array of the three, so that one python3 parses them all.
  const std::string all = "[" + event_json("progress", slots[0], t) + ", " +
                          event_json("removed", sample_slots(3)[2], t) + ", " +
                          record_json(r, 99) + "]";
  EXPECT_EQ(json_query(all, "(d[0]['time'], d[0]['event'], d[0]['state'], d[0]['percent'], "
                            "d[0]['mb_per_s'], d[0]['eta_seconds'], d[0]['device'], d[0]['error'], "
                            "d[1]['device'], d[1]['mb_per_s'], "
                            "d[2]['label'], d[2]['virtual_size'], d[2]['error'], d[2]['serial'])"),
            "('2023-11-14T22:13:20.123Z', 'progress', 'writing', 25.0, 2.097, 6.0, '/dev/sdb', "
            "'write /dev/sdb at 4194304: Input/output error', None, None, "
            "'A\"1', 99, 'bad\\nthing', '4C530001230101117583')");
}

TEST(StationDevices, SystemDiskIsInUse) {
  const auto system = system_disks();
  if (system.empty()) GTEST_SKIP() << "/ is not on a block device here";
  bool found = false;
  for (const auto& name : list_disks()) {
    auto d = read_drive(name);
    if (!d || d->dev != system.front()) continue;
    found = true;
    EXPECT_NE(drive_in_use(*d).find("holds / or /boot"), std::string::npos) << d->path;
  }
  EXPECT_TRUE(found);
}

// A total of 0 is one not known yet (a stream whose size is found at its
// end): bytes and rate only, no percentage or ETA.
TEST(ProgressText, WithAndWithoutATotal) {
  EXPECT_EQ(cli::progress_text(256u << 20, 1u << 30, 2.0, false), "256 MiB / 1 GiB  25%  134 MB/s  ETA 0:06");
  EXPECT_EQ(cli::progress_text(256u << 20, 0, 2.0, false), "256 MiB  134 MB/s");
  EXPECT_EQ(cli::progress_text(3u << 20, 0, 1.0, true), "FAILED after 3 MiB");
}

}  // namespace
}  // namespace qflash::test
