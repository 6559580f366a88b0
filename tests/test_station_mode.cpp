// qflash station end to end, with loop devices as drives: attaching a loop
// device to a file is plugging a drive in, detaching it pulling it out. The
// --slot patterns name only this test's scratch directory, so the station
// never touches a loop device of anyone else. Each drive is compared with
// qemu-img convert -O raw; the --events stream and the --log records are
// parsed as JSON.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <functional>
#include <memory>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "io/devices/devices.h"
#include "io/devices/monitor.h"
#include "tests/http/servers.h"
#include "tests/support/fault_disk.h"
#include "tests/support/loop_device.h"
#include "tests/support/mass_support.h"
#include "tests/support/support.h"

extern char** environ;

namespace qflash::test {
namespace {

constexpr uint64_t kImage = 16u << 20;

// A 16 MiB image with data, a compressed cluster, zeros and a hole.
std::string make_image(const ScratchDir& dir) {
  const std::string img = dir / "image.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 16M");
  must("qemu-io -c 'write -P 0x5a 0 1M' -c 'write -c -P 0x33 4M 1M' -c 'write -z 6M 1M' "
       "-c 'write -P 0x77 15M 512k' " + img);
  qemu_raw(img, dir / "want.raw");
  return img;
}

// A drive's backing file: `size` bytes of 0xee, so unwritten bytes show.
std::string make_drive(const ScratchDir& dir, const std::string& name, uint64_t size) {
  const std::string file = dir / name;
  write_file(file, std::vector<uint8_t>(size, 0xee));
  return file;
}

// The first kImage bytes of `file` are the image's.
bool holds_image(const ScratchDir& dir, const std::string& file) {
  return run("cmp -n " + std::to_string(kImage) + " " + quote(dir / "want.raw") + " " +
             quote(file)).status == 0;
}

bool eventually(const std::function<bool()>& condition, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

size_t line_count(const std::string& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return 0;
  auto bytes = read_file(file);
  return size_t(std::count(bytes.begin(), bytes.end(), '\n'));
}

struct Check {
  std::string expr;  // Python, with `ev` the --events lines and `log` the --log lines
  std::string want;  // repr() of its value
};

// Runs every check in one python3 (its start-up is slow on a loaded
// machine); a line that is not JSON fails the test.
void expect_json(const std::string& events, const std::string& log,
                 const std::vector<Check>& checks) {
  std::string script =
      "import json,os,sys\n"
      "def lines(f):\n"
      "  return [json.loads(l) for l in open(f)] if os.path.exists(f) else []\n"
      "ev, log = lines(sys.argv[1]), lines(sys.argv[2])\n";
  for (const auto& c : checks) script += "print(repr(" + c.expr + "))\n";
  CommandResult r = run("python3 -c " + quote(script) + " " + quote(events) + " " + quote(log));
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream out(r.out);
  for (const auto& c : checks) {
    std::string got;
    std::getline(out, got);
    EXPECT_EQ(got, c.want) << c.expr;
  }
}

size_t occurrences(const std::string& file, const std::string& text) {
  auto bytes = read_file(file);
  const std::string s(bytes.begin(), bytes.end());
  size_t n = 0;
  for (size_t at = s.find(text); at != std::string::npos; at = s.find(text, at + 1)) ++n;
  return n;
}

// `qflash station ARGS` in the background, stdout and stderr into files.
class Station {
 public:
  Station(const ScratchDir& dir, const std::string& args)
      : out_(dir / "stdout.txt"), err_(dir / "stderr.txt") {
    const std::string cmd = "exec " + qflash_bin() + " station " + args + " >" + quote(out_) +
                            " 2>" + quote(err_);
    const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
    if (posix_spawn(&pid_, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
      pid_ = -1;
  }
  ~Station() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // The exit status, or -1 if it did not end within `seconds`.
  int wait(double seconds) {
    int status = 0;
    if (!eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, seconds)) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  const std::string& events() const { return out_; }
  std::string err() const {
    auto bytes = read_file(err_);
    return {bytes.begin(), bytes.end()};
  }
  // Waits for an event line containing `text`.
  bool saw(const std::string& text, double seconds = 20) const {
    return eventually([&] {
      auto bytes = read_file(out_);
      return std::string(bytes.begin(), bytes.end()).find(text) != std::string::npos;
    }, seconds);
  }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
};

bool loops_available() { return FaultDisk::unavailable().empty(); }

TEST(StationMode, ThreeDrivesInsertedAtDifferentTimesEachExactAndLogged) {
  if (!loops_available()) GTEST_SKIP() << FaultDisk::unavailable();
  ScratchDir dir, elsewhere;
  const std::string img = make_image(dir);
  std::string names;
  for (const char* d : {"a", "b", "c"})
    names += "loop:" + (dir / (std::string(d) + ".drive")) + "  A-" + d + "\n";
  write_file(dir / "names", std::vector<uint8_t>(names.begin(), names.end()));
  const std::string a = make_drive(dir, "a.drive", 24u << 20),
                    b = make_drive(dir, "b.drive", 24u << 20),
                    c = make_drive(dir, "c.drive", kImage);
  // A drive in no allowed slot: plugged in while the station runs, untouched.
  const std::string other = make_drive(elsewhere, "other.drive", 24u << 20);

  // The published digest from a SHA256SUMS file, as release servers ship it.
  const std::string image_sha = must("sha256sum " + quote(img)).substr(0, 64);
  const std::string written_sha = must("sha256sum " + quote(dir / "want.raw")).substr(0, 64);
  const std::string sums = image_sha + "  image.qcow2\n";
  write_file(dir / "SHA256SUMS", std::vector<uint8_t>(sums.begin(), sums.end()));
  Station station(dir, img + " --slot " + quote(dir / "*.drive") + " --slot-names " +
                           quote(dir / "names") + " --events --log " + quote(dir / "log") +
                           " --checksums " + quote(dir / "SHA256SUMS"));
  ASSERT_TRUE(station.saw("\"started\"")) << station.err();
  const double plugged = std::chrono::duration<double>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  auto da = std::make_unique<LoopDevice>(a, LoopOptions{.required = true});
  auto dother = std::make_unique<LoopDevice>(other, LoopOptions{.required = true});
  ASSERT_TRUE(eventually([&] { return line_count(dir / "log") == 1; }, 20)) << station.err();
  auto db = std::make_unique<LoopDevice>(b, LoopOptions{.required = true});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto dc = std::make_unique<LoopDevice>(c, LoopOptions{.required = true});
  ASSERT_TRUE(eventually([&] { return line_count(dir / "log") == 3; }, 30)) << station.err();
  const std::string other_dev = dother->path();
  da.reset();
  db.reset();
  dc.reset();
  dother.reset();
  ASSERT_TRUE(eventually(
      [&] { return occurrences(station.events(), "\"event\": \"removed\"") == 3; }, 10));
  station.signal(SIGTERM);
  EXPECT_EQ(station.wait(20), 0) << station.err();

  for (const auto& f : {a, b, c}) EXPECT_TRUE(holds_image(dir, f)) << f;
  EXPECT_EQ(read_file(other), std::vector<uint8_t>(24u << 20, 0xee));

  std::vector<Check> checks = {
      // The log: one record per drive, in the order they finished (a first).
      {"[r['label'] for r in log][0]", "'A-a'"},
      {"sorted(r['label'] for r in log)", "['A-a', 'A-b', 'A-c']"},
      {"log[0]['slot']", "'loop:" + a + "'"},
      {"set((r['result'], r['verify'], r['bytes'], r['error']) for r in log)",
       "{('ok', 'ok', 16777216, None)}"},
      {"sorted(r['size'] for r in log)", "[16777216, 25165824, 25165824]"},
      {"all(r['device'].startswith('/dev/loop') and r['image'] == '" + img +
           "' and r['virtual_size'] == 16777216 and r['seconds'] > 0 and "
           "r['time'].endswith('Z') for r in log)",
       "True"},
      {"sorted(log[0].keys())",
       "['bytes', 'device', 'error', 'image', 'image_sha256', 'label', 'model', 'result', "
       "'seconds', 'serial', 'sha256', 'size', 'slot', 'time', 'vendor', 'verify', "
       "'virtual_size']"},
      // What each drive holds, and the image it came from.
      {"set((r['sha256'], r['image_sha256']) for r in log)",
       "{('" + written_sha + "', '" + image_sha + "')}"},
      // The events: each drive through every state, the stranger ignored.
      {"(ev[0]['event'], ev[-1]['event'], ev[-1]['good'], ev[-1]['exit_status'])",
       "('started', 'stopped', 3, 0)"},
      {"[e['slot'] for e in ev if e['event'] == 'ignored' and e['device'] == '" + other_dev + "']",
       "['loop:" + other + "']"},
      {"[e['event'] for e in ev if e.get('slot') == 'loop:" + other + "' and e['event'] != 'ignored']",
       "[]"},
      // Seen within a second of being plugged in.
      {"__import__('datetime').datetime.strptime([e['time'] for e in ev if e['event'] == "
       "'inserted'][0], '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=__import__('datetime')."
       "timezone.utc).timestamp() - " + std::to_string(plugged) + " < 1.0",
       "True"},
      {"sorted(set(tuple(sorted(e.keys())) for e in ev if 'slot' in e))",
       "[('bytes', 'device', 'error', 'eta_seconds', 'event', 'label', 'mb_per_s', 'model', "
       "'percent', 'serial', 'size', 'slot', 'state', 'time', 'total', 'vendor')]"},
  };
  for (const char* label : {"A-a", "A-b", "A-c"})
    checks.push_back({"[e['event'] for e in ev if e.get('label') == '" + std::string(label) +
                          "' and e['event'] != 'progress']",
                      "['inserted', 'writing', 'verifying', 'done', 'removed']"});
  expect_json(station.events(), dir / "log", checks);
}

// An image that is not the published one can flash no drive: a local image
// is checked as the station starts, and the station stops there with the
// image's error, exit status 1, no drive written. (A drive being written
// when an image fails its digest gets a zero first MiB: the engine's rule,
// tested with qflash write and qflash-mass.)
TEST(StationMode, WrongSha256StopsTheStation) {
  if (!loops_available()) GTEST_SKIP() << FaultDisk::unavailable();
  ScratchDir dir;
  const std::string img = make_image(dir);
  Station station(dir, img + " --slot " + quote(dir / "*.drive") + " --events --log " +
                           quote(dir / "log") + " --sha256 " + std::string(64, '0'));
  EXPECT_EQ(station.wait(20), 1) << station.err();
  EXPECT_NE(station.err().find("is not the expected 0000"), std::string::npos) << station.err();
  EXPECT_EQ(line_count(dir / "log"), 0u);
  expect_json(station.events(), "",
              {{"(ev[-1]['event'], ev[-1]['reason'], ev[-1]['exit_status'])", "('stopped', 'image', 1)"}});
}

// Stations pull the release from an HTTP origin or cache (README, "Serving
// many stations"): the image from a URL, checked against its published
// digest as the first drive reads it, written exact and recorded good.
TEST(StationMode, ImageFromAUrlWrittenExactAndChecked) {
  if (!loops_available()) GTEST_SKIP() << FaultDisk::unavailable();
  ScratchDir dir;
  const std::string img = make_image(dir);
  fs::create_directories(dir / "www");
  fs::copy_file(img, dir / "www/image.qcow2");
  Nginx nginx(dir, dir / "www");
  const std::string url = nginx.url("image.qcow2");
  const std::string image_sha = must("sha256sum " + quote(img)).substr(0, 64);
  const std::string a = make_drive(dir, "a.drive", 24u << 20);
  Station station(dir, url + " --sha256 " + image_sha + " --slot " + quote(dir / "*.drive") +
                           " --events --log " + quote(dir / "log"));
  ASSERT_TRUE(station.saw("\"started\"")) << station.err();
  {
    LoopDevice da(a, LoopOptions{.required = true});
    ASSERT_TRUE(eventually([&] { return line_count(dir / "log") == 1; }, 30)) << station.err();
  }
  station.signal(SIGTERM);
  EXPECT_EQ(station.wait(20), 0) << station.err();
  EXPECT_TRUE(holds_image(dir, a));
  expect_json(station.events(), dir / "log",
              {{"(log[0]['image'], log[0]['result'], log[0]['verify'], log[0]['error'])",
                "('" + url + "', 'ok', 'ok', None)"},
               {"log[0]['image_sha256']", "'" + image_sha + "'"}});
}

TEST(StationMode, SlowAndFastDrivesFailingAndTooSmallWithCount) {
  if (!loops_available()) GTEST_SKIP() << FaultDisk::unavailable();
  ScratchDir dir;
  const std::string img = make_image(dir);
  // Present before the station starts: they count as plugged in.
  FaultDisk slow(dir.path().string(), "slow", 24u << 20, {.delay_ms = 8});
  FaultDisk pulled(dir.path().string(), "pulled", 24u << 20, {.write_error_from = 4 << 20});
  ASSERT_FALSE(slow.path().empty());
  ASSERT_FALSE(pulled.path().empty());
  LoopDevice fast(make_drive(dir, "fast.drive", kImage), {.required = true});
  LoopDevice small(make_drive(dir, "small.drive", 8u << 20), {.required = true});

  // The fault disks' loop devices show dir/NAME.mnt/disk; the others dir/NAME.drive.
  Station station(dir, img + " --slot " + quote(dir / "*.drive") + " --slot " +
                           quote(dir / "*.mnt/disk") + " --count 2 --no-verify --log " +
                           quote(dir / "log"));
  const int status = station.wait(60);
  EXPECT_EQ(status, 2) << station.err();  // a drive failed
  expect_json(station.events(), dir / "log", {
      {"sorted((r['slot'].split('/')[-1] if 'drive' in r['slot'] else r['slot'].split('/')[-2], "
       "r['result']) for r in log)",
       "[('fast.drive', 'ok'), ('pulled.mnt', 'failed'), ('slow.mnt', 'ok'), "
       "('small.drive', 'too_small')]"},
      // The fast drive did not wait for the slow one.
      {"[r['slot'].split('/')[-1] for r in log if r['result'] == 'ok']", "['fast.drive', 'disk']"},
      {"{r['verify'] for r in log}", "{'skipped'}"},
      {"[r['slot'] for r in log if r['result'] == 'failed' and "
       "'Input/output error' in r['error'] and r['verify'] == 'skipped']",
       "['loop:" + (dir / "pulled.mnt/disk") + "']"},
      {"[(r['bytes'], r['verify']) for r in log if r['result'] == 'too_small']", "[(0, 'skipped')]"},
  });
  EXPECT_TRUE(holds_image(dir, dir / "fast.drive"));
  EXPECT_TRUE(holds_image(dir, slow.backing()));
  EXPECT_EQ(read_file(dir / "small.drive"), std::vector<uint8_t>(8u << 20, 0xee));
  // Without a terminal and without --events: plain lines on stderr.
  EXPECT_NE(station.err().find("too small"), std::string::npos) << station.err();
  EXPECT_NE(station.err().find("done: good 2, failed 1, refused 1"), std::string::npos)
      << station.err();
}

TEST(StationMode, SigusrPrintsStatusAndSighupStopsWithReport) {
  if (!loops_available()) GTEST_SKIP() << FaultDisk::unavailable();
  ScratchDir dir;
  const std::string img = make_image(dir);
  // Slow enough (about 2 s) that the signals come while it is being written;
  // the writes already in flight are drained before the stop.
  FaultDisk slow(dir.path().string(), "slow", 24u << 20, {.delay_ms = 50});
  ASSERT_FALSE(slow.path().empty());
  Station station(dir, img + " --slot " + quote(dir / "*.mnt/disk") + " --events --log " +
                           quote(dir / "log"));
  ASSERT_TRUE(station.saw("\"event\": \"writing\"")) << station.err();
  station.signal(SIGUSR1);
  ASSERT_TRUE(eventually([&] { return station.err().find("good 0, failed 0") != std::string::npos; },
                         5)) << station.err();
  EXPECT_NE(station.err().find("writing"), std::string::npos) << station.err();
  station.signal(SIGHUP);
  EXPECT_EQ(station.wait(20), 130) << station.err();
  expect_json(station.events(), dir / "log", {
      {"[(r['result'], r['verify'], r['bytes'] <= 16777216) for r in log]",
       "[('interrupted', 'skipped', True)]"},
      {"(ev[-1]['event'], ev[-1]['reason'], ev[-1]['interrupted'])", "('stopped', 'signal', 1)"},
      {"[e['event'] for e in ev if e['event'] == 'interrupted']", "['interrupted']"},
  });
}

TEST(StationMode, RefusesWithoutSlotAndNeverWritesAMountedDrive) {
  if (!loops_available()) GTEST_SKIP() << FaultDisk::unavailable();
  ScratchDir dir;
  const std::string img = make_image(dir);
  CommandResult r = run(qflash_bin() + " station " + img);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("without --slot"), std::string::npos) << r.err;

  const std::string fs_file = make_drive(dir, "mounted.drive", 24u << 20);
  must("mkfs.ext4 -q -F " + quote(fs_file));
  LoopDevice mounted(fs_file, {.required = true});
  fs::create_directories(dir / "mnt");
  {
    Mount mount(mounted.path(), dir / "mnt");
    Station station(dir, img + " --slot " + quote(dir / "*.drive") + " --log " + quote(dir / "log"));
    ASSERT_TRUE(eventually([&] { return line_count(dir / "log") == 1; }, 20)) << station.err();
    station.signal(SIGINT);
    EXPECT_EQ(station.wait(20), 0) << station.err();
    expect_json(dir / "none", dir / "log",
                {{"[(r['result'], r['bytes'], 'is mounted on' in r['error']) for r in log]",
                  "[('refused', 0, True)]"}});
  }
  // Still the file system, not the image.
  EXPECT_EQ(run("e2fsck -n -f " + quote(fs_file)).status, 0);
  EXPECT_FALSE(holds_image(dir, fs_file));
}

// The library's monitor alone: a loop device given a file is inserted, its
// detach a removal, each seen within a second; the drive reads back its slot.
TEST(StationMode, MonitorSeesAttachAndDetachWithinASecond) {
  if (!loops_available()) GTEST_SKIP() << FaultDisk::unavailable();
  ScratchDir dir;
  const std::string file = make_drive(dir, "m.drive", 1u << 20);
  DeviceMonitor monitor;
  (void)monitor.wait(0);  // what is there already
  auto seen = [&](DeviceChange::Kind kind, const std::string& name) {
    return eventually([&] {
      for (const auto& c : monitor.wait(100))
        if (c.kind == kind && c.name == name) return true;
      return false;
    }, 1.0);
  };
  auto drive = std::make_unique<LoopDevice>(file, LoopOptions{.required = true});
  const std::string name = drive->path().substr(5);
  EXPECT_TRUE(seen(DeviceChange::Inserted, name));
  auto read = read_drive(name);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->slot, "loop:" + file);
  EXPECT_EQ(read->size, 1u << 20);
  drive.reset();
  EXPECT_TRUE(seen(DeviceChange::Removed, name));
}

TEST(StationMode, WriteJsonReportNamesTheDrive) {
  if (!loops_available()) GTEST_SKIP() << FaultDisk::unavailable();
  ScratchDir dir;
  const std::string img = make_image(dir);
  const std::string file = make_drive(dir, "d.drive", kImage);
  LoopDevice drive(file, {.required = true});
  CommandResult r = run(qflash_mass_bin() + " --yes --json " + img + " " + drive.path() + " " +
                        quote(dir / "plain.raw"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json_query(r.out, "(d['targets'][0]['drive']['name'], d['targets'][0]['drive']['size'], "
                              "d['targets'][0]['drive']['slot'], sorted(d['targets'][0]['drive']), "
                              "d['targets'][1]['drive'])"),
            "('" + drive.path().substr(5) + "', 16777216, 'loop:" + file +
                "', ['model', 'name', 'serial', 'size', 'slot', 'vendor'], None)");
  EXPECT_TRUE(holds_image(dir, file));
}

}  // namespace
}  // namespace qflash::test
