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
#include "io/targets/targets.h"
#include "tools/cli/cli.h"
#include "tools/cli/progress.h"
#include "tools/cli/report.h"
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
void verify_all(RunReport& run, const WriteReport& written, const std::vector<WriteTarget>& targets,
                const std::atomic<bool>& stop) {
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
      auto v = verify_target(targets[i].target, pieces, &stop);
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

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The run failed as a whole after bytes reached targets: one line for the
// cause, the per-target report (text or JSON), exit status 2.
int failed_after_writing(const char* prog, bool json, RunReport& run, const Error& error,
                         std::chrono::steady_clock::time_point t0) {
  run.error = error.message;
  run.exit_status = kTargetsFailed;
  run.seconds = since(t0);
  std::fprintf(stderr, "%s: %s\n", prog, terminal_safe(error.message).c_str());
  for (const auto& t : run.targets)
    std::fprintf(stderr, "%s: %s: failed after %s (%llu bytes) reached it\n", prog,
                 terminal_safe(t.path).c_str(), human_size(t.bytes).c_str(),
                 static_cast<unsigned long long>(t.bytes));
  if (json) std::fputs(to_json(run).c_str(), stdout);
  return run.exit_status;
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
    "      --backing-dir=DIR  backing and data files may also lie under DIR (repeatable)\n"
    "      --allow-device-backing  backing and data files may be block devices\n"
    "      --no-backing     refuse images that name a backing or data file\n"
    "      --debug          internals to stderr\n"
    "  -h, --help           this help\n";

std::vector<OptionSpec> flash_options(FlashRequest& req, const char* prog) {
  return with({
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
  }, reference_options(prog, req.source));
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
  // Every target opened and checked once, by descriptor, before the
  // question (so nobody confirms in vain); those descriptors are written
  // and verified, whatever happens to the names meanwhile.
  std::vector<TargetRequest> requests;
  for (size_t i = 0; i < req.targets.size(); ++i) requests.push_back({req.targets[i], ranges[i].second});
  const std::vector<const Source*> files = chain->files();
  auto opened = open_targets(requests, files);
  if (!opened) return refuse(opened.error());
  if (!req.yes && !confirm_block_devices(prog, run.image, chain->size(), *opened))
    return refuse(Error{ErrorKind::Target, "block devices not confirmed; nothing written"});
  // The stop flag of this run: set by SIGINT/SIGTERM/SIGHUP, read by the
  // engine. Armed before any target file is created, so that from then on
  // a signal gives a report.
  std::atomic<bool> stop{false};
  StopOnSignal on_signal(stop);
  if (auto st = ready_targets(*opened); !st) return refuse(st.error());

  std::vector<WriteTarget> targets;
  for (size_t i = 0; i < req.targets.size(); ++i)
    targets.push_back({std::move((*opened)[i]), ranges[i].first, ranges[i].second});

  const auto t0 = std::chrono::steady_clock::now();
  Progress progress(req.targets, isatty(STDERR_FILENO));
  // The last progress seen: how far each target got if the run fails as a
  // whole (the engine's error carries no byte counts yet).
  std::vector<TargetProgress> reached;
  req.write.progress = [&](const std::vector<TargetProgress>& p) {
    reached = p;
    progress.update(p);
  };
  req.write.stop = &stop;
  req.write.record_digest = req.verify;
  auto written = write_image(*chain, targets, req.write);
  progress.finish();
  if (!written) {
    // The image failed mid-way (a corrupt cluster, a source cut short, a
    // server given up): targets that received bytes hold part of the image.
    bool any = false;
    for (size_t i = 0; i < req.targets.size(); ++i) {
      const uint64_t bytes = i < reached.size() ? reached[i].done : 0;
      any |= bytes > 0;
      run.targets.push_back({req.targets[i], bytes, 0, "failed", written.error().message, {}});
    }
    if (!any) return refuse(written.error());  // nothing reached any target
    return failed_after_writing(prog, req.json, run, written.error(), t0);
  }
  for (size_t i = 0; i < written->targets.size(); ++i) {
    const TargetResult& r = written->targets[i];
    TargetOutcome t;
    t.path = r.path;
    t.bytes = r.bytes;
    t.seconds = r.seconds;
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
    verify_all(run, *written, targets, stop);
  }
  // An image changed while being read leaves a mix of old and new bytes.
  if (auto st = chain->check_unchanged(); !st) {
    for (auto& t : run.targets)
      if (t.status != "failed") {
        t.status = "failed";
        t.error = st.error().message;
      }
    return failed_after_writing(prog, req.json, run, st.error(), t0);
  }
  bool failed = false;
  for (const auto& t : run.targets) failed |= t.status == "failed";
  run.exit_status = written->interrupted || stop ? kInterrupted : failed ? kTargetsFailed : kOk;
  run.seconds = since(t0);

  if (req.json) {
    for (const auto& t : run.targets)
      if (t.error) std::fprintf(stderr, "%s: %s\n", prog, terminal_safe(*t.error).c_str());
    std::fputs(to_json(run).c_str(), stdout);
  } else {
    print_summary(prog, run);
  }
  if (run.exit_status == kInterrupted) std::fprintf(stderr, "%s: interrupted\n", prog);
  return run.exit_status;
}

}  // namespace qflash::cli
