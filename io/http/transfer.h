// Transfers: one range request on a libcurl easy handle, the bytes it
// brings split into the chunks of the grid as they arrive, the answer
// judged (response.h), and a broken transfer resumed from the byte where it
// stopped. Also the one retry policy, used by the probe and the scheduler.
// A Transfer belongs to one thread at a time; libcurl is not called here
// beyond the handle's own options.
#pragma once

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "io/http/chunk_cache.h"
#include "io/http/response.h"

namespace qflash {

// Where requests go and what may go with them: headers, URL credentials
// and netrc only to the origin of the image the user named (`home`).
struct Endpoint {
  std::string url;             // without credentials
  std::string user, password;  // from the URL, decoded; empty if none
  bool home = false;
};

// What every transfer of a source shares. The pointers outlive the transfers.
struct TransferSettings {
  const curl_slist* headers = nullptr;  // for the home origin only
  std::string netrc_file;               // with `netrc`: this file, or ~/.netrc if empty
  bool netrc = false;
  std::string proxy;                    // --proxy; empty: libcurl's http_proxy/https_proxy/no_proxy
  long connect_timeout_s = 15;
  long stall_timeout_s = 30;            // under 1 byte/s for this long: a transient fault
  const std::atomic<bool>* stop = nullptr;  // set: every transfer ends at once
  ChunkPool* pool = nullptr;                 // where part buffers come from
};

class Transfer {
 public:
  explicit Transfer(const TransferSettings& settings);
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  // Sends the next requests to `to` (with its credentials if it is home).
  void aim(const Endpoint& to);
  // A new job: bytes [begin, begin + length), kept in parts of `part` bytes
  // (the chunk grid); `whole` when that is the whole file. Resets attempts.
  // With `first` (the opening answer's validators) and `ready`, each part is
  // handed to `ready` as soon as its last byte arrived under a head that
  // checked out, on the thread driving the transfer (a reader need not wait
  // for the rest of a long range); take_parts() then leaves it out.
  using PartReady = std::function<void(uint64_t offset, std::vector<uint8_t>&& part)>;
  void start(uint64_t begin, uint64_t length, bool whole, size_t part,
             const Validators* first = nullptr, PartReady ready = nullptr);
  // Takes the parts' buffers from the pool (TransferSettings::pool), those no
  // byte reached yet. A new buffer is faulted in first, 0.3-0.5 ms per MiB
  // on a fresh VM: called once the request is out (request_out()), so that
  // this overlaps its round trip instead of holding the request back (on a
  // new connection the request goes out only once it is connected). Parts
  // the answer reaches first take theirs as it comes.
  void take_buffers();
  // Whether the current request was sent, and its buffers not yet taken.
  bool wants_buffers() const { return request_out_ && !buffers_taken_; }
  // The opening request, before the file's size is known: bytes [0, length),
  // or the whole file if it is shorter (RangeAsk::to_end), in parts of
  // `part` bytes. Once a head checks out (judge_head, nothing to compare
  // with) and tells the file's size, its validators are written to `learn`,
  // the range is cut to the file's end, and the parts go to `ready` as for
  // start(), later answers (a resume) judged against `learn`.
  void start_opening(uint64_t length, size_t part, Validators* learn, PartReady ready);
  // Asks again for the bytes still missing (after a resumable Retry), or
  // for the whole range again (after any other Retry).
  void again(bool resume);
  // Judges the finished request (curl's result `rc`) against `first`.
  Outcome finish(CURLcode rc, const Validators* first);

  CURL* easy() const { return easy_; }
  uint64_t begin() const { return begin_; }
  uint64_t length() const { return length_; }
  uint64_t received() const { return received_; }
  int attempts = 0;  // failed attempts of this job so far
  // The parts, once finish() said Done.
  std::vector<std::vector<uint8_t>> take_parts() { return std::move(parts_); }
  // Seconds from sending the request to its first byte.
  double first_byte_seconds() const;

 private:
  // The bytes the current request asks for, as its answer is judged.
  RangeAsk ask() const {
    return {asked_from_, begin_ + length_ - asked_from_, whole_ && asked_from_ == begin_, to_end_};
  }
  // Part `k`'s buffer, if it has none big enough: from the pool, if any.
  void take_buffer(size_t k);
  // The bytes part `k` holds when full (the last one may be shorter).
  size_t part_bytes(size_t k) const {
    return size_t(std::min<uint64_t>(part_, length_ - k * part_));
  }
  static size_t on_body(char* data, size_t size, size_t n, void* self);
  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
  static int on_request_out(void* self, char*, char*, int, int);
  void request();  // sets the Range of the bytes still missing
  void read_head();  // fills answer_'s head from the response headers
  // The opening answer's head checked out: the file's validators, the
  // range cut to its end. False if the head does not check out.
  bool learn_head();

  const TransferSettings& settings_;
  CURL* easy_;
  uint64_t begin_ = 0, length_ = 0, received_ = 0;  // received_: kept across resumes
  bool request_out_ = false, buffers_taken_ = false;
  uint64_t asked_from_ = 0;                           // the current request's first byte
  size_t part_ = 0;
  bool whole_ = false;
  bool to_end_ = false;
  bool head_ok_ = false;  // this request's head checked out: parts may go
  bool head_seen_ = false;
  const Validators* first_ = nullptr;
  Validators* learn_ = nullptr;  // the opening request's, until its head is known
  PartReady ready_;
  std::vector<std::vector<uint8_t>> parts_;
  Answer answer_;
  char errbuf_[CURL_ERROR_SIZE] = {};
};

// Retries of transient faults: how long to wait before attempt `attempt`
// (1-based), or nothing once `max_retries` are spent. Doubling from
// `backoff`, at most 10 s.
struct RetryPolicy {
  int max_retries = 5;
  std::chrono::milliseconds backoff{250};
  std::optional<std::chrono::milliseconds> delay(int attempt) const;
};

void curl_init_once();

}  // namespace qflash
