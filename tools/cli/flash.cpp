#include "tools/cli/flash.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "engine/write/verify.h"
#include "io/http/url.h"
#include "tools/cli/cli.h"
#include "tools/cli/progress.h"
#include "tools/cli/report.h"
#include "tools/cli/safety.h"
#include "tools/cli/signals.h"

namespace qflash::cli {
namespace {

// A whole number in [low, high] for --jobs and --queue-depth.
bool parse_count(const char* prog, const char* name, const char* text, unsigned low,
                 unsigned high, unsigned& out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long v = std::strtoul(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-' || v < low || v > high) {
    std::fprintf(stderr, "%s: --%s wants a whole number from %u to %u, not '%s'\n", prog, name,
                 low, high, text);
    return false;
  }
  out = unsigned(v);
  return true;
}

// Reads every good target back, all at once (one thread per target, as the
// drives are independent), and marks mismatches as failures.
void verify_all(RunReport& run, const WriteReport& written, const std::atomic<bool>& stop) {
  std::vector<std::thread> threads;
  for (size_t i = 0; i < run.targets.size(); ++i) {
    if (run.targets[i].status != "ok") continue;
    threads.emplace_back([&, i] {
      TargetOutcome& t = run.targets[i];
      const auto& pieces = written.targets[i].pieces;
      uint64_t covered = 0;
      for (const auto& p : pieces) covered += p.length;
      // Bytes without a checksum could not be checked: never call them good.
      if (covered < t.bytes) {
        t.status = "failed";
        t.error = "verify: " + t.path + ": no checksum recorded for " +
                  std::to_string(t.bytes - covered) + " of its bytes";
        t.verified = false;
        return;
      }
      auto v = verify_target(t.path, pieces, &stop);
      if (!v) {
        if (v.error().kind == ErrorKind::Interrupted) return;
        t.status = "failed";
        t.error = v.error().message;
        t.verified = false;
      } else if (v->mismatch) {
        t.status = "failed";
        t.error = "verify: " + t.path + " differs from the image in the " +
                  std::to_string(v->mismatch->length) + " bytes at offset " +
                  std::to_string(v->mismatch->offset);
        t.verified = false;
      } else {
        t.verified = true;
      }
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace

const char kFlashOptionsHelp[] =
    "      --yes            do not ask before overwriting block devices\n"
    "      --verify         read every target back afterwards and compare\n"
    "      --json           print a JSON report on stdout at the end\n"
    "      --sparse         skip zero regions on block devices too (pre-zeroed drives)\n"
    "      --memory=SIZE    buffer memory (default 256M)\n"
    "      --jobs=N         decompression threads (default: one per CPU)\n"
    "      --queue-depth=N  I/O requests in flight (default 64)\n"
    "      --header=H       'Name: value' sent with every HTTP request (repeatable)\n"
    "      --debug          internals to stderr\n"
    "  -h, --help           this help\n";

std::vector<OptionSpec> flash_options(FlashRequest& req, const char* prog) {
  return {
      {"yes", false, [&req](const char*) { return req.yes = true; }},
      {"verify", false, [&req](const char*) { return req.verify = true; }},
      {"json", false, [&req](const char*) { return req.json = true; }},
      {"sparse", false, [&req](const char*) { return req.write.sparse = true; }},
      {"memory", true,
       [&req, prog](const char* arg) {
         auto size = parse_size(arg);
         if (!size || *size < (1u << 20)) {
           std::fprintf(stderr, "%s: --memory wants a size of at least 1M, not '%s'\n", prog, arg);
           return false;
         }
         req.write.memory = *size;
         return true;
       }},
      {"jobs", true,
       [&req, prog](const char* arg) {
         return parse_count(prog, "jobs", arg, 1, 1024, req.write.jobs);
       }},
      {"queue-depth", true,
       [&req, prog](const char* arg) {
         return parse_count(prog, "queue-depth", arg, 1, 4096, req.write.queue_depth);
       }},
      header_option(prog, req.source),
  };
}

int flash(const char* prog, FlashRequest& req) {
  RunReport run;
  run.image = redact_url(req.image);  // the report never carries credentials
  // A run that never started: one line on stderr and, with --json, a report
  // that says why (nothing was written).
  auto refuse = [&](const Error& error) {
    run.exit_status = fail(prog, error);
    run.error = error.message;
    if (req.json) std::fputs(to_json(run).c_str(), stdout);
    return run.exit_status;
  };

  auto chain = Chain::open(req.image, req.source);
  if (!chain) return refuse(chain.error());
  run.virtual_size = chain->size();
  if (auto st = chain->validate(); !st) return refuse(st.error());

  // What each target receives: {guest start, length}; the whole disk, or
  // with --partition the chosen partition.
  std::vector<std::pair<uint64_t, uint64_t>> ranges(req.targets.size(), {0, chain->size()});
  if (!req.partitions.numbers.empty()) {
    auto r = partition_ranges(prog, *chain, req.partitions, req.targets.size());
    if (!r) return refuse(r.error());
    ranges = std::move(r).value();
  }
  std::vector<uint64_t> needed;
  for (const auto& r : ranges) needed.push_back(r.second);

  // Every refusal comes before the question, so nobody confirms in vain.
  auto checked = check_targets(*chain, req.targets, needed);
  if (!checked) return refuse(checked.error());
  std::vector<std::string> devices;
  for (const auto& t : *checked)
    if (t.block_device) devices.push_back(t.path);
  if (!req.yes && !confirm_block_devices(prog, devices))
    return refuse(Error{ErrorKind::Target, "block devices not confirmed; nothing written"});

  // The stop flag of this run: set by SIGINT/SIGTERM, read by the engine.
  std::atomic<bool> stop{false};
  // SIGUSR1 asks for a status line, as dd does.
  std::atomic<bool> status{false};
  StopOnSignal on_signal(stop, [&status](int signal) {
    if (signal == SIGUSR1) status = true;
  });

  std::vector<WriteTarget> targets;
  std::vector<std::optional<Drive>> drives(req.targets.size());
  for (size_t i = 0; i < req.targets.size(); ++i) {
    if (auto d = drive_for_path(req.targets[i])) drives[i] = std::move(d).value();
    auto t = open_target(req.targets[i], ranges[i].second, {.allow_block_device = true});
    if (!t) return refuse(t.error());
    targets.push_back({std::move(t).value(), ranges[i].first, ranges[i].second});
  }

  const auto t0 = std::chrono::steady_clock::now();
  Progress progress(req.targets, isatty(STDERR_FILENO), prog, &status);
  req.write.progress = [&progress](const std::vector<TargetProgress>& p) { progress.update(p); };
  req.write.stop = &stop;
  req.write.record_digest = req.verify;
  auto written = write_image(*chain, targets, req.write);
  progress.finish();
  // An image changed while being read leaves a mix of old and new bytes.
  if (written)
    if (auto st = chain->check_unchanged(); !st) written = st.take_error();
  if (!written) {
    // The image itself failed mid-way (a corrupt cluster): every target is
    // incomplete, and the fault is the image's, so the status is 1.
    for (const auto& path : req.targets)
      run.targets.push_back({path, 0, 0, "failed", written.error().message, {}, {}});
    return refuse(written.error());
  }

  for (size_t i = 0; i < written->targets.size(); ++i) {
    const TargetResult& r = written->targets[i];
    TargetOutcome t;
    t.path = r.path;
    t.bytes = r.bytes;
    t.seconds = r.seconds;
    t.drive = drives[i];
    if (!r.status) {
      t.status = "failed";
      t.error = r.status.error().message;
    } else if (written->interrupted && r.bytes < targets[i].length) {
      t.status = "interrupted";
    }
    run.targets.push_back(std::move(t));
  }
  if (req.verify && !stop) {
    if (isatty(STDERR_FILENO)) std::fprintf(stderr, "%s: verifying\n", prog);
    verify_all(run, *written, stop);
  }
  bool failed = false;
  for (const auto& t : run.targets) failed |= t.status == "failed";
  run.exit_status = written->interrupted || stop ? kInterrupted : failed ? kTargetsFailed : kOk;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (req.json) {
    for (const auto& t : run.targets)
      if (t.error) std::fprintf(stderr, "%s: %s\n", prog, t.error->c_str());
    std::fputs(to_json(run).c_str(), stdout);
  } else {
    print_summary(prog, run);
  }
  if (run.exit_status == kInterrupted) std::fprintf(stderr, "%s: interrupted\n", prog);
  return run.exit_status;
}

}  // namespace qflash::cli
