// Order of the checks: a refused body first (it explains any transport
// error it caused), then redirects, then the head (status, Content-Range,
// validators), and the body's length last. A head that checks out makes a
// broken transfer resumable from the byte where it stopped.
#include "io/http/response.h"

#include <cstdio>
#include <utility>

namespace qflash {
namespace {

bool transient_status(long code) { return code == 408 || code == 429 || code >= 500; }

std::string span(uint64_t first, uint64_t last) {
  return std::to_string(first) + "-" + std::to_string(last);
}

std::string asked(const RangeAsk& ask) {
  return "a request for bytes " + span(ask.begin, ask.begin + ask.length - 1);
}

// The answer holds exactly the bytes asked for (up to the file's end, for a
// `to_end` range).
bool answers(const RangeAsk& ask, const ContentRange& cr) {
  if (cr.first != ask.begin) return false;
  if (cr.last + 1 == ask.begin + ask.length) return true;
  return ask.to_end && cr.total && cr.last + 1 == *cr.total && *cr.total < ask.begin + ask.length;
}

}  // namespace

bool whole_file_allowed(const RangeAsk& ask, int64_t content_length) {
  return ask.whole || (ask.to_end && ask.begin == 0 && content_length >= 0 &&
                       uint64_t(content_length) <= ask.length);
}

std::optional<ContentRange> answered_range(const RangeAsk& ask, const Answer& got) {
  if (got.status != 200) return parse_content_range(got.content_range);
  if (got.content_length > 0 && !ask.whole)
    return ContentRange{0, uint64_t(got.content_length) - 1, uint64_t(got.content_length)};
  return ContentRange{ask.begin, ask.begin + ask.length - 1,
                      got.content_length < 0 ? std::nullopt
                                             : std::optional<uint64_t>(got.content_length)};
}

std::optional<Outcome> judge_head(const RangeAsk& ask, const Answer& got,
                                  const Validators* first) {
  const std::optional<ContentRange> cr = answered_range(ask, got);
  if (!cr)
    return Outcome{Verdict::Fail, "a 206 answer to " + asked(ask) +
                                      " without a valid Content-Range ('" + got.content_range +
                                      "')"};
  if (first) {
    if (cr->total && *cr->total != first->size)
      return Outcome{Verdict::Fail, kImageChanged + " (size was " + std::to_string(first->size) +
                                        " bytes, now " + std::to_string(*cr->total) + ")"};
    if (got.etag != first->etag)
      return Outcome{Verdict::Fail,
                     kImageChanged + " (ETag was " + first->etag + ", now " + got.etag + ")"};
    if (got.last_modified != first->last_modified)
      return Outcome{Verdict::Fail, kImageChanged + " (Last-Modified was " + first->last_modified +
                                        ", now " + got.last_modified + ")"};
  }
  if (!answers(ask, *cr)) {
    std::string total = cr->total ? std::to_string(*cr->total) : std::string("*");
    return Outcome{Verdict::Fail, "the server (or a proxy on the way) answered " + asked(ask) +
                                      " with bytes " + span(cr->first, cr->last) + "/" + total};
  }
  return std::nullopt;
}

const std::string kImageChanged = "image changed on the server during the run";

std::optional<ContentRange> parse_content_range(std::string_view value) {
  std::string v(value);
  unsigned long long a, b, t;
  int used = 0;
  if (std::sscanf(v.c_str(), "bytes %llu-%llu/%llu%n", &a, &b, &t, &used) == 3 &&
      size_t(used) == v.size() && a <= b && b < t)
    return ContentRange{a, b, t};
  used = 0;
  if (std::sscanf(v.c_str(), "bytes %llu-%llu/*%n", &a, &b, &used) == 2 &&
      size_t(used) == v.size() && a <= b)
    return ContentRange{a, b, std::nullopt};
  return std::nullopt;
}

std::string http_status(long code) {
  static const std::pair<long, const char*> kReasons[] = {
      {400, "Bad Request"},           {401, "Unauthorized"},      {403, "Forbidden"},
      {404, "Not Found"},             {405, "Method Not Allowed"}, {407, "Proxy Authentication Required"},
      {410, "Gone"},                  {416, "Range Not Satisfiable"}, {429, "Too Many Requests"},
      {500, "Internal Server Error"}, {502, "Bad Gateway"},       {503, "Service Unavailable"},
      {504, "Gateway Timeout"}};
  std::string s = "HTTP " + std::to_string(code);
  for (const auto& [c, reason] : kReasons)
    if (c == code) s += std::string(" ") + reason;
  return s;
}

Outcome judge_answer(const RangeAsk& ask, const Answer& got, const Validators* first) {
  if (got.status == 200 && got.content_length == 0)  // nginx's answer for an empty file
    return {Verdict::Fail, first ? kImageChanged + " (it is empty now)" : "the file is empty"};
  if (got.cut_200 || (got.status == 200 && !whole_file_allowed(ask, got.content_length))) {
    std::string whole = got.content_length >= 0
                            ? " (the whole file, " + std::to_string(got.content_length) + " bytes)"
                            : " (the whole file)";
    return {Verdict::Fail, "the server (or a proxy on the way) answered " + asked(ask) +
                               " with 200 OK" + whole +
                               ": it does not support range requests"};
  }
  if (got.overflow)
    return {Verdict::Fail, "the server sent more bytes than " + asked(ask) + " holds"};
  if (got.status >= 300 && got.status < 400 && !got.location.empty())
    return {Verdict::Redirect, got.location};
  bool carries_bytes = got.status == 206 || got.status == 200;
  if (!got.transport_error.empty()) {
    // Bytes of the right range and version that came before the break
    // are kept; anything else is asked again from the start.
    bool head_ok = carries_bytes && !judge_head(ask, got, first);
    Verdict v = got.transport_transient ? Verdict::Retry : Verdict::Fail;
    return {v, got.transport_error, v == Verdict::Retry && head_ok && got.received > 0};
  }
  if (got.status == 416 && first)
    return {Verdict::Fail, kImageChanged + " (HTTP 416 Range Not Satisfiable to " + asked(ask) +
                               " of " + std::to_string(first->size) + ")"};
  if (!carries_bytes)
    return {transient_status(got.status) ? Verdict::Retry : Verdict::Fail,
            "the server answered " + http_status(got.status)};
  if (auto problem = judge_head(ask, got, first)) return *problem;
  const auto cr = answered_range(ask, got);  // valid: judge_head said so
  const uint64_t length = cr->last - cr->first + 1;
  if (got.received != length)
    return {Verdict::Retry,
            "short answer (" + std::to_string(got.received) + " of " + std::to_string(length) +
                " bytes)",
            got.received > 0};
  return {Verdict::Done, {}};
}

}  // namespace qflash
