#include "tools/cli/flash.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "engine/write/verify.h"
#include "io/base/sha256.h"
#include "io/http/url.h"
#include "io/targets/targets.h"
#include "tools/cli/cli.h"
#include "tools/cli/progress.h"
#include "tools/cli/report.h"
#include "tools/cli/signals.h"

namespace qflash::cli {
namespace {

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
    "  -y, --yes            do not ask before overwriting block devices\n"
    "      --verify         read every target back afterwards and compare\n"
    "      --output=json    print a JSON report on stdout at the end (alias --json)\n"
    "      --sparse         skip zero regions on block devices too (pre-zeroed drives)\n"
    "      --wipe-rest      zero the part of a larger block device past the image\n"
    "      --sha256=HEX     the image file's published SHA-256; targets stay unbootable unless it matches\n"
    "      --checksums=FILE a SHA256SUMS file listing the image's SHA-256\n"
    "      --memory=SIZE    buffer memory (default 256M)\n"
    "      --jobs=N         decompression threads (default: one per CPU)\n"
    "      --queue-depth=N  I/O requests in flight (default 64)\n"
    QFLASH_IMAGE_OPTIONS_HELP
    "      --debug          internals to stderr\n"
    "  -h, --help           this help\n"
    "  -V, --version        print the version\n";

std::vector<OptionSpec> flash_options(FlashRequest& req, const char* prog) {
  std::vector<OptionSpec> specs = with_image_options({
      {"yes", false, [&req](const char*) { return req.yes = true; }, 'y'},
      {"verify", false, [&req](const char*) { return req.verify = true; }},
      output_option(prog, req.json),
      {"sparse", false, [&req](const char*) { return req.write.sparse = true; }},
      {"wipe-rest", false, [&req](const char*) { return req.write.wipe_rest = true; }},
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
         uint64_t n;
         if (!parse_whole_number(prog, "jobs", arg, 1, 1024, n)) return false;
         req.write.jobs = unsigned(n);
         req.source.decode_threads = unsigned(n);
         return true;
       }},
      {"queue-depth", true,
       [&req, prog](const char* arg) {
         uint64_t n;
         if (!parse_whole_number(prog, "queue-depth", arg, 1, 4096, n)) return false;
         req.write.queue_depth = unsigned(n);
         return true;
       }},
  }, prog, req.source);
  for (auto& spec : digest_options(prog, req.write.image_sha256, req.checksums))
    specs.push_back(std::move(spec));
  return specs;
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

  // The stop flag of this run: set by SIGINT/SIGTERM/SIGHUP once armed
  // below, read by the engine and by the HTTP transfers (a dead server's
  // retries end at once).
  std::atomic<bool> stop{false};
  req.source.stop = &stop;
  const MemoryShares shares = share_memory(req.write.memory, req.image);
  req.write.memory = shares.engine;
  req.source.cache_bytes = shares.caches;

  if (!req.checksums.empty())
    if (auto st = image_digest_from(req.checksums, run.image, req.write.image_sha256); !st)
      return refuse(st.error());

  // A stream that says its size only at its end (bzip2, gzip, a pipe) is
  // written in one pass and the end found as it comes; a partition's range
  // needs the size up front (the stream is then decoded once to count it).
  req.source.size_at_end = req.partitions.numbers.empty();
  auto chain = Chain::open(req.image, req.source);
  if (!chain) return refuse(chain.error());
  const bool size_known = !chain->size_is_bound();
  if (size_known) run.virtual_size = chain->size();
  if (auto st = chain->validate(); !st) return refuse(st.error());

  // What each target receives: {guest start, length}; the whole disk, or
  // with --partition the chosen partition.
  auto partition_ranges = qflash::partition_ranges(*chain, req.partitions, req.targets.size());
  if (!partition_ranges) return refuse(partition_ranges.error());
  const auto& ranges = *partition_ranges;

  // Every target opened and checked once, by descriptor, before the
  // question (so nobody confirms in vain); those descriptors are written
  // and verified, whatever happens to the names meanwhile.
  std::vector<TargetRequest> requests;
  // Of a stream without its size, a target takes what it holds (a file: up
  // to the bound), and fails if the stream goes on past it.
  for (size_t i = 0; i < req.targets.size(); ++i)
    requests.push_back({req.targets[i], size_known ? ranges[i].second : 0});
  const std::vector<const Source*> files = chain->files();
  auto opened = open_targets(requests, files);
  if (!opened) return refuse(opened.error());
  if (!req.yes && !confirm_block_devices(prog, run.image, run.virtual_size.value_or(0), *opened))
    return refuse(Error{ErrorKind::Target, "block devices not confirmed; nothing written"});
  // Armed before any target file is created, so that from then on a signal
  // gives a report. SIGUSR1 asks for a status line, as dd does.
  std::atomic<bool> status{false};
  StopOnSignal on_signal(stop, [&status](int signal) {
    if (signal == SIGUSR1) status = true;
  });
  if (auto st = ready_targets(*opened); !st) return refuse(st.error());

  std::vector<WriteTarget> targets;
  std::vector<std::optional<Drive>> drives(req.targets.size());
  for (size_t i = 0; i < req.targets.size(); ++i) {
    if (auto d = drive_for_path(req.targets[i])) drives[i] = std::move(d).value();
    Target& t = (*opened)[i];
    const uint64_t length =
        size_known ? ranges[i].second : t.block_device ? std::min(t.size, chain->size()) : chain->size();
    targets.push_back({std::move(t), ranges[i].first, length});
  }

  const auto t0 = std::chrono::steady_clock::now();
  Progress progress(req.targets, isatty(STDERR_FILENO), prog, &status);
  // With --partition each target's range comes at its own time in the one
  // pass, so its time is its own: from the last progress report before its
  // first byte to the first report that has all of them (reports come every
  // 0.2 s, and at the end).
  std::vector<double> began(targets.size(), 0), ended(targets.size(), -1);
  req.write.progress = [&](const std::vector<TargetProgress>& p) {
    const double now = since(t0);
    for (size_t i = 0; i < p.size() && i < began.size(); ++i) {
      if (p[i].done == 0) began[i] = now;
      if (p[i].total && p[i].done >= p[i].total && ended[i] < 0) ended[i] = now;
    }
    progress.update(p);
  };
  req.write.stop = &stop;
  // The digests are for --verify and the JSON report; the text summary
  // prints neither.
  req.write.target_digests = req.verify || req.json;
  req.write.image_digest = req.json;
  auto written = write_image(*chain, targets, req.write);
  progress.finish();
  // Failures before any byte was written.
  if (!written) return refuse(written.error());
  // An image changed while being read leaves a mix of old and new bytes.
  if (written->error.ok())
    if (auto st = chain->check_unchanged(); !st) written->error = st.take_error();
  if (!written->error.ok()) run.error = written->error.error().message;
  if (!written->image_sha256.empty()) run.image_sha256 = written->image_sha256;
  if (!size_known && written->virtual_size) run.virtual_size = written->virtual_size;

  bool reached = false;  // did any byte reach any target
  for (size_t i = 0; i < written->targets.size(); ++i) {
    const TargetResult& r = written->targets[i];
    TargetOutcome t;
    t.path = r.path;
    t.bytes = r.bytes;
    t.seconds = r.seconds;
    reached |= r.bytes > 0;
    if (!req.partitions.numbers.empty() && r.status && ended[i] >= 0)
      t.seconds = ended[i] - began[i];
    if (r.sha256) t.sha256 = Sha256::hex(*r.sha256);
    t.drive = drives[i];
    if (!r.status) {
      t.status = "failed";
      t.error = r.status.error().message;
    } else if (!written->error.ok()) {
      t.status = "failed";
      t.error = written->error.error().message;
    } else if (!r.complete) {
      t.status = "interrupted";
    }
    run.targets.push_back(std::move(t));
  }
  if (!written->error.ok()) {
    // The image itself failed mid-way (a corrupt cluster, a source cut
    // short, a wrong digest): every target is incomplete. Status 1 only when
    // nothing reached a target; else 2, and the report says how far each got.
    if (!reached) return refuse(written->error.error());
    return failed_after_writing(prog, req.json, run, written->error.error(), t0);
  }
  if (req.verify && !stop) {
    if (isatty(STDERR_FILENO)) std::fprintf(stderr, "%s: verifying\n", prog);
    const auto verified = verify_targets(targets, *written, &stop);
    for (size_t i = 0; i < verified.size(); ++i) {
      const VerifyResult& v = verified[i];
      if (!v.checked || (!v.status && v.status.error().kind == ErrorKind::Interrupted)) continue;
      TargetOutcome& t = run.targets[i];
      t.verified = v.status.ok();
      if (!v.status) {
        t.status = "failed";
        t.error = v.status.error().message;
      }
    }
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
