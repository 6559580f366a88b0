// Response checking for HTTP range requests: pure functions that judge what
// a server (or a proxy on the way) answered against what was asked and
// against the first answer, so that no byte of another range or another
// version of the file is ever taken. No libcurl here: tested in memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qflash {

// "bytes FIRST-LAST/TOTAL" (TOTAL absent for "/*").
struct ContentRange {
  uint64_t first = 0, last = 0;
  std::optional<uint64_t> total;
};
std::optional<ContentRange> parse_content_range(std::string_view value);

// What names the file's version; every range must come from the same one.
struct Validators {
  uint64_t size = 0;
  std::string etag, last_modified;
};

// Bytes [begin, begin + length) of the file; `whole` when that is all of
// it, which a plain 200 answers too (RFC 9110). `to_end`: the range may run
// past the file's end (the opening request, before the size is known); the
// server then answers up to the last byte (RFC 9110 14.1.2), or with 200 and
// the whole file if that is all of it.
struct RangeAsk {
  uint64_t begin = 0, length = 0;
  bool whole = false;
  bool to_end = false;
};

// What came back, as far as judging needs it.
struct Answer {
  long status = 0;  // 0: no answer before the transport failed
  std::string content_range, etag, last_modified, location;
  int64_t content_length = -1;  // -1: not sent
  uint64_t received = 0;        // body bytes kept for the range
  bool cut_200 = false;         // a 200 to a partial range: the body was refused
  bool overflow = false;        // more body than the range holds: refused
  // A transport failure (reset, timeout, ...): its message, and whether a
  // new attempt may succeed. Empty message: the transfer completed.
  std::string transport_error;
  bool transport_transient = false;
};

enum class Verdict {
  Done,      // every byte of the range, from the right version
  Retry,     // try again; `resume` keeps the bytes received so far
  Fail,      // a definite answer: give up with `why`
  Redirect,  // 3xx: `why` is the Location, resolved by the caller
};
struct Outcome {
  Verdict verdict;
  std::string why;
  bool resume = false;
};

// The reason phrase of common statuses: "HTTP 404 Not Found".
std::string http_status(long code);

// Whether a 200 (the whole file, `content_length` bytes; -1: not said)
// answers `ask`: a range of the whole file, or the opening range of a file
// no longer than it.
bool whole_file_allowed(const RangeAsk& ask, int64_t content_length);

// The bytes the head of `got` says its body holds (a 200: the whole file);
// nothing for a 206 without a valid Content-Range.
std::optional<ContentRange> answered_range(const RangeAsk& ask, const Answer& got);

// Problems with the head (status line and headers) of an answer that
// carries bytes (200 or 206): another range, another version. Nothing if it
// is the answer asked for, whose bytes may be used as they arrive.
std::optional<Outcome> judge_head(const RangeAsk& ask, const Answer& got, const Validators* first);

// Judges a finished range request. `first` is the opening answer's
// validators (null while probing): a different size, ETag or
// Last-Modified means the file changed. Messages name what the server
// sent, so a misbehaving proxy can be told from a changed file.
Outcome judge_answer(const RangeAsk& ask, const Answer& got, const Validators* first);

// The prefix of every "file changed" message (the image's fault, not the
// range's: callers name the file, not the bytes).
extern const std::string kImageChanged;

}  // namespace qflash
