// Redirects are not followed by libcurl: each one comes back to the caller,
// who decides by origin where headers and credentials may go (libcurl
// would carry custom headers to any host). Bytes are written straight into
// per-chunk buffers, so the scheduler caches them without another copy.
#include "io/http/transfer.h"

#include <algorithm>
#include <cstring>

namespace qflash {
namespace {

bool transient_error(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

// A header of the last response, or empty.
std::string header(CURL* easy, const char* name) {
  curl_header* h = nullptr;
  if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK) return {};
  return h->value;
}

}  // namespace

void curl_init_once() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)rc;
}

Transfer::Transfer(const TransferSettings& settings) : settings_(settings), easy_(curl_easy_init()) {
  CURL* e = easy_;
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(e, CURLOPT_HEADEROPT, long(CURLHEADER_SEPARATE));  // never to the proxy
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, settings.connect_timeout_s);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, settings.stall_timeout_s);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  // Larger reads cost fewer calls, but libcurl reads a connection dry (up to
  // 100 buffers) before it turns to the next: 64 KiB keeps that turn short.
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 64L * 1024);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "qflash");
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf_);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(e, CURLOPT_PRIVATE, this);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, this);
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_request_out);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, this);
  // Only when asked: an empty CURLOPT_PROXY would turn the environment's off.
  if (!settings.proxy.empty()) curl_easy_setopt(e, CURLOPT_PROXY, settings.proxy.c_str());
}

Transfer::~Transfer() { curl_easy_cleanup(easy_); }

void Transfer::aim(const Endpoint& to) {
  CURL* e = easy_;
  curl_easy_setopt(e, CURLOPT_URL, to.url.c_str());
  bool creds = to.home && !to.user.empty();
  curl_easy_setopt(e, CURLOPT_USERNAME, creds ? to.user.c_str() : nullptr);
  curl_easy_setopt(e, CURLOPT_PASSWORD, creds ? to.password.c_str() : nullptr);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, to.home ? settings_.headers : nullptr);
  bool netrc = to.home && settings_.netrc;
  curl_easy_setopt(e, CURLOPT_NETRC, long(netrc ? CURL_NETRC_OPTIONAL : CURL_NETRC_IGNORED));
  curl_easy_setopt(e, CURLOPT_NETRC_FILE,
                   netrc && !settings_.netrc_file.empty() ? settings_.netrc_file.c_str() : nullptr);
}

void Transfer::start(uint64_t begin, uint64_t length, bool whole, size_t part,
                     const Validators* first, PartReady ready) {
  first_ = first;
  learn_ = nullptr;
  ready_ = std::move(ready);
  begin_ = begin;
  length_ = length;
  whole_ = whole;
  to_end_ = false;
  part_ = part;
  attempts = 0;
  parts_.resize((length + part - 1) / part);
  for (auto& p : parts_) p.clear();
  received_ = 0;
  buffers_taken_ = false;
  request();
}

void Transfer::take_buffers() {
  buffers_taken_ = true;
  for (size_t k = 0; k < parts_.size(); ++k)
    if (received_ <= k * part_) take_buffer(k);
}

void Transfer::take_buffer(size_t k) {
  const size_t bytes = part_bytes(k);
  auto& p = parts_[k];
  if (p.capacity() >= bytes) return;
  if (settings_.pool)
    p = settings_.pool->take(bytes);
  else
    p.reserve(bytes);
}

void Transfer::start_opening(uint64_t length, size_t part, Validators* learn, PartReady ready) {
  start(0, length, false, part, nullptr, std::move(ready));
  to_end_ = true;
  learn_ = learn;
  // Each part's buffer as its first byte comes: the range may run far past
  // a short file, and its parts are handed out as they fill.
  buffers_taken_ = true;
}

bool Transfer::learn_head() {
  if (judge_head(ask(), answer_, nullptr)) return false;
  auto cr = answered_range(ask(), answer_);
  if (!cr || !cr->total) return false;
  // A file shorter than the opening range: the range ends at its end.
  length_ = std::min(length_, *cr->total);
  parts_.resize((length_ + part_ - 1) / part_);
  *learn_ = {*cr->total, answer_.etag, answer_.last_modified};
  first_ = learn_;
  learn_ = nullptr;
  return true;
}

void Transfer::again(bool resume) {
  if (!resume) {
    for (auto& p : parts_) p.clear();
    received_ = 0;
  }
  request();
}

void Transfer::request() {
  request_out_ = false;
  asked_from_ = begin_ + received_;
  answer_ = {};
  head_ok_ = head_seen_ = false;
  errbuf_[0] = '\0';
  std::string range =
      std::to_string(asked_from_) + "-" + std::to_string(begin_ + length_ - 1);
  curl_easy_setopt(easy_, CURLOPT_RANGE, range.c_str());
}

size_t Transfer::on_body(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<Transfer*>(self);
  size_t bytes = size * n;
  long code = 0;
  curl_easy_getinfo(t->easy_, CURLINFO_RESPONSE_CODE, &code);
  if (code == 200) {
    curl_off_t length = -1;
    curl_easy_getinfo(t->easy_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (!whole_file_allowed(t->ask(), length)) {
      t->answer_.cut_200 = true;  // a whole file we did not ask for: stop it now
      return 0;
    }
  }
  if (code != 206 && code != 200) return bytes;  // an error page; the status says enough
  if (!t->head_seen_) {
    t->head_seen_ = true;
    t->read_head();
    if (t->learn_)
      t->head_ok_ = t->learn_head() && t->ready_;
    else
      t->head_ok_ = t->first_ && t->ready_ && !judge_head(t->ask(), t->answer_, t->first_);
  }
  if (t->received_ + bytes > t->length_) {
    t->answer_.overflow = true;
    return 0;
  }
  const auto* from = reinterpret_cast<const uint8_t*>(data);  // same type: one memcpy
  for (size_t done = 0; done < bytes;) {
    size_t k = t->received_ / t->part_;
    size_t full = t->part_bytes(k);
    auto& p = t->parts_[k];
    if (p.empty()) t->take_buffer(k);  // not taken yet, or handed out and asked again
    size_t take = std::min(full - p.size(), bytes - done);
    p.insert(p.end(), from + done, from + done + take);
    done += take;
    t->received_ += take;
    if (t->head_ok_ && p.size() == full) t->ready_(t->begin_ + k * t->part_, std::move(p));
  }
  return bytes;
}

// libcurl calls it right before it sends the request, the connection made.
int Transfer::on_request_out(void* self, char*, char*, int, int) {
  static_cast<Transfer*>(self)->request_out_ = true;
  return CURL_PREREQFUNC_OK;
}

int Transfer::on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(self);
  return t->settings_.stop && t->settings_.stop->load() ? 1 : 0;
}

void Transfer::read_head() {
  Answer& a = answer_;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &a.status);
  curl_off_t length = -1;
  curl_easy_getinfo(easy_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  a.content_length = length;
  a.content_range = header(easy_, "Content-Range");
  a.etag = header(easy_, "ETag");
  a.last_modified = header(easy_, "Last-Modified");
}

Outcome Transfer::finish(CURLcode rc, const Validators* first) {
  Answer& a = answer_;
  read_head();
  char* location = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
    a.location = location;
  a.received = received_ - (asked_from_ - begin_);
  if (rc != CURLE_OK && !a.cut_200 && !a.overflow) {
    a.transport_error = rc == CURLE_ABORTED_BY_CALLBACK ? "interrupted"
                        : errbuf_[0]                    ? errbuf_
                                                        : curl_easy_strerror(rc);
    a.transport_transient = transient_error(rc);
  }
  return judge_answer(ask(), a, first);
}

double Transfer::first_byte_seconds() const {
  curl_off_t pre = 0, start = 0;
  curl_easy_getinfo(easy_, CURLINFO_PRETRANSFER_TIME_T, &pre);
  curl_easy_getinfo(easy_, CURLINFO_STARTTRANSFER_TIME_T, &start);
  return double(std::max<curl_off_t>(start - pre, 0)) / 1e6;
}

std::optional<std::chrono::milliseconds> RetryPolicy::delay(int attempt) const {
  if (attempt > max_retries) return std::nullopt;
  return std::min(backoff * (int64_t(1) << std::min(attempt - 1, 10)),
                  std::chrono::milliseconds(10000));
}

}  // namespace qflash
