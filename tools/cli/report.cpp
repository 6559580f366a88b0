#include "tools/cli/report.h"

#include <cstdio>

#include "tools/cli/cli.h"
#include "tools/cli/progress.h"

namespace qflash::cli {
namespace {

std::string number(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string mb_per_s(uint64_t bytes, double seconds) {
  return number(seconds > 0 ? double(bytes) / seconds / 1e6 : 0);
}

std::string string_or_null(const std::optional<std::string>& s) {
  if (!s) return "null";
  std::string out = "\"";
  out += json_escape(*s);
  out += '"';
  return out;
}

}  // namespace

std::string drive_json(const std::optional<Drive>& d) {
  if (!d) return "null";
  return "{\"name\": \"" + json_escape(d->name) + "\", \"vendor\": \"" + json_escape(d->vendor) +
         "\", \"model\": \"" + json_escape(d->model) + "\", \"serial\": \"" +
         json_escape(d->serial) + "\", \"size\": " + std::to_string(d->size) +
         ", \"slot\": \"" + json_escape(d->slot) + "\"}";
}

std::string to_json(const RunReport& r) {
  std::string out = "{\n  \"image\": \"" + json_escape(r.image) + "\",\n  \"virtual_size\": " +
                    (r.virtual_size ? std::to_string(*r.virtual_size) : "null") +
                    ",\n  \"image_sha256\": " + string_or_null(r.image_sha256) + ",\n  \"targets\": [";
  uint64_t bytes = 0;
  size_t ok = 0, failed = 0, interrupted = 0;
  for (size_t i = 0; i < r.targets.size(); ++i) {
    const auto& t = r.targets[i];
    out += i ? ",\n    {" : "\n    {";
    out += "\"path\": \"" + json_escape(t.path) + "\", \"bytes\": " + std::to_string(t.bytes) +
           ", \"seconds\": " + number(t.seconds, 6) + ", \"mb_per_s\": " + mb_per_s(t.bytes, t.seconds) +
           ", \"status\": \"" + t.status + "\", \"error\": " + string_or_null(t.error) +
           ", \"verified\": " + (t.verified ? (*t.verified ? "true" : "false") : "null") +
           ", \"sha256\": " + string_or_null(t.sha256) +
           ", \"drive\": " + drive_json(t.drive) + "}";
    bytes += t.bytes;
    ok += t.status == "ok";
    failed += t.status == "failed";
    interrupted += t.status == "interrupted";
  }
  out += r.targets.empty() ? "],\n" : "\n  ],\n";
  out += "  \"totals\": {\"targets\": " + std::to_string(r.targets.size()) +
         ", \"ok\": " + std::to_string(ok) + ", \"failed\": " + std::to_string(failed) +
         ", \"interrupted\": " + std::to_string(interrupted) + ", \"bytes\": " +
         std::to_string(bytes) + ", \"seconds\": " + number(r.seconds, 6) +
         ", \"mb_per_s\": " + mb_per_s(bytes, r.seconds) + "},\n";
  out += "  \"exit_status\": " + std::to_string(r.exit_status) + ",\n";
  out += "  \"error\": " + string_or_null(r.error) + "\n}\n";
  return out;
}

void print_summary(const char* prog, const RunReport& r) {
  for (const auto& t : r.targets) {
    std::string text = t.path + ": " + t.status + ", " + human_size(t.bytes) + " in " +
                       number(t.seconds, 1) + " s (" +
                       rate(t.bytes, t.seconds) + ")";
    if (t.verified) text += *t.verified ? ", verified" : ", verify failed";
    if (t.error) text += ": " + *t.error;
    std::fprintf(stderr, "%s: %s\n", prog, terminal_safe(text).c_str());
  }
}

}  // namespace qflash::cli
