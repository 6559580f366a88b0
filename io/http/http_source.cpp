// Threads: callers of read_at() touch the shared state only under mu_ and
// wake the I/O thread with curl_multi_wakeup(), the one thread-safe multi
// call; the I/O thread alone drives the multi handle and its transfers.
// Every 206 answer is checked against what the opening probe saw (size,
// ETag, Last-Modified), so a file replaced mid-run cannot mix versions.
#include "io/http/http_source.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "io/base/debug.h"
#include "io/http/chunk_cache.h"
#include "io/http/url.h"

namespace qflash {
namespace {

using Clock = std::chrono::steady_clock;

const std::string kChanged = "image changed on the server during the run";

void curl_init_once() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)rc;
}

std::string http_status(long code) {
  static const std::pair<long, const char*> kReasons[] = {
      {400, "Bad Request"},           {401, "Unauthorized"},      {403, "Forbidden"},
      {404, "Not Found"},             {405, "Method Not Allowed"}, {410, "Gone"},
      {416, "Range Not Satisfiable"}, {429, "Too Many Requests"}, {500, "Internal Server Error"},
      {502, "Bad Gateway"},           {503, "Service Unavailable"}, {504, "Gateway Timeout"}};
  std::string s = "HTTP " + std::to_string(code);
  for (const auto& [c, reason] : kReasons)
    if (c == code) s += std::string(" ") + reason;
  return s;
}

bool transient_status(long code) { return code == 408 || code == 429 || code >= 500; }

bool transient_error(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
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

// A header of the final response (after redirects), or empty.
std::string response_header(CURL* easy, const char* name) {
  curl_header* h = nullptr;
  if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK) return {};
  return h->value;
}

struct ContentRange {
  uint64_t first = 0, last = 0;
  std::optional<uint64_t> total;  // absent for "bytes a-b/*"
};

std::optional<ContentRange> parse_content_range(const std::string& v) {
  unsigned long long a, b, t;
  int used = 0;
  if (std::sscanf(v.c_str(), "bytes %llu-%llu/%llu%n", &a, &b, &t, &used) == 3 && used > 0)
    return ContentRange{a, b, t};
  if (std::sscanf(v.c_str(), "bytes %llu-%llu/*%n", &a, &b, &used) == 2 && used > 0)
    return ContentRange{a, b, std::nullopt};
  return std::nullopt;
}

// What names the file's version; every range must come from the same one.
struct Validators {
  uint64_t size = 0;
  std::string etag, last_modified;
};

// One range request and its handle, reused for the next request so the
// connection stays warm.
struct Transfer {
  Transfer() : easy(curl_easy_init()) {}
  ~Transfer() { curl_easy_cleanup(easy); }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  void reset(uint64_t chunk_index, uint64_t first, uint64_t bytes, bool whole_file) {
    chunk = chunk_index;
    begin = first;
    length = bytes;
    whole = whole_file;
    body.clear();
    body.reserve(bytes);
    got_200 = overflow = false;
    errbuf[0] = '\0';
    std::string range = std::to_string(begin) + "-" + std::to_string(begin + length - 1);
    curl_easy_setopt(easy, CURLOPT_RANGE, range.c_str());
  }

  CURL* easy;
  uint64_t chunk = 0, begin = 0, length = 0;
  std::vector<uint8_t> body;
  bool whole = false;     // the range is the whole file: a plain 200 answers it too
  bool got_200 = false;   // the server ignored Range; the transfer was cut short
  bool overflow = false;  // more bytes than the range holds
  char errbuf[CURL_ERROR_SIZE] = {};
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t bytes = size * n;
  long code = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
  if (code == 200 && !t->whole) {
    t->got_200 = true;  // a whole file we did not ask for: stop it now
    return 0;
  }
  if (code != 206 && code != 200) return bytes;  // an error page; the status says enough
  if (t->body.size() + bytes > t->length) {
    t->overflow = true;
    return 0;
  }
  size_t at = t->body.size();
  t->body.resize(at + bytes);
  std::memcpy(t->body.data() + at, data, bytes);
  return bytes;
}

enum class Verdict { Done, Retry, Fail };
struct Outcome {
  Verdict verdict;
  std::string why;
};

// Judges a finished range request; `expect` is null for the opening probe.
Outcome judge(Transfer& t, CURLcode rc, const Validators* expect) {
  long code = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &code);
  curl_off_t length = -1;
  curl_easy_getinfo(t.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  if (code == 200 && length == 0)  // nginx's answer for an empty file
    return {Verdict::Fail, expect ? kChanged + " (it is empty now)" : "the file is empty"};
  if (t.got_200 || (rc == CURLE_OK && code == 200 && !t.whole))
    return {Verdict::Fail,
            "the server does not support range requests (it answered 200 OK to a Range request)"};
  if (t.overflow) return {Verdict::Fail, "the server sent more bytes than the range asked for"};
  if (rc != CURLE_OK)
    return {transient_error(rc) ? Verdict::Retry : Verdict::Fail,
            t.errbuf[0] ? t.errbuf : curl_easy_strerror(rc)};
  if (code == 416 && expect) return {Verdict::Fail, kChanged + " (range no longer satisfiable)"};
  if (code != 206 && code != 200)
    return {transient_status(code) ? Verdict::Retry : Verdict::Fail,
            "the server answered " + http_status(code)};
  // Some servers answer a range covering the whole file with a plain 200.
  auto cr = code == 200 ? ContentRange{t.begin, t.begin + t.length - 1,
                                       length < 0 ? std::nullopt : std::optional<uint64_t>(length)}
                        : parse_content_range(response_header(t.easy, "Content-Range"));
  if (!cr) return {Verdict::Fail, "a 206 answer without a valid Content-Range"};
  if (expect) {
    if (cr->total && *cr->total != expect->size)
      return {Verdict::Fail, kChanged + " (size was " + std::to_string(expect->size) +
                                 " bytes, now " + std::to_string(*cr->total) + ")"};
    std::string etag = response_header(t.easy, "ETag");
    if (etag != expect->etag)
      return {Verdict::Fail, kChanged + " (ETag was " + expect->etag + ", now " + etag + ")"};
    std::string modified = response_header(t.easy, "Last-Modified");
    if (modified != expect->last_modified)
      return {Verdict::Fail, kChanged + " (Last-Modified was " + expect->last_modified + ", now " +
                                 modified + ")"};
  }
  if (cr->first != t.begin || cr->last + 1 != t.begin + t.length)
    return {Verdict::Fail, "the server sent bytes " + std::to_string(cr->first) + "-" +
                               std::to_string(cr->last) + " for a request of " +
                               std::to_string(t.begin) + "-" +
                               std::to_string(t.begin + t.length - 1)};
  if (t.body.size() != t.length)
    return {Verdict::Retry, "short answer (" + std::to_string(t.body.size()) + " of " +
                                std::to_string(t.length) + " bytes)"};
  return {Verdict::Done, {}};
}

class HttpSource final : public Source {
 public:
  HttpSource(const std::string& url, const SourceOptions& options, const HttpOptions& http)
      : url_(url),
        name_(redact_url(url)),
        userinfo_(url_userinfo(url)),
        opt_(http),
        cache_(http.cache_chunks) {
    for (const auto& h : options.http_headers) headers_ = curl_slist_append(headers_, h.c_str());
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, opt_.max_transfers);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, opt_.max_transfers);
  }

  ~HttpSource() override {
    if (io_.joinable()) {
      {
        std::lock_guard lk(mu_);
        stop_ = true;
      }
      curl_multi_wakeup(multi_);
      io_.join();
    }
    for (auto& t : transfers_) curl_multi_remove_handle(multi_, t->easy);
    transfers_.clear();
    curl_multi_cleanup(multi_);
    curl_slist_free_all(headers_);
  }

  // The opening probe: a ranged GET of byte 0, retried like any request.
  Status probe() {
    Transfer t;
    configure(t);
    for (int attempt = 0;; ++attempt) {
      t.reset(0, 0, 1, false);
      debug("%s: probing with GET bytes 0-0", name_.c_str());
      Outcome o = judge(t, curl_easy_perform(t.easy), nullptr);
      if (o.verdict == Verdict::Done) {
        auto cr = parse_content_range(response_header(t.easy, "Content-Range"));
        if (!cr->total) return unsupported(name_ + ": the server does not tell the file's size");
        v_ = {*cr->total, response_header(t.easy, "ETag"),
              response_header(t.easy, "Last-Modified")};
        debug("%s: %llu bytes, ETag %s, Last-Modified %s", name_.c_str(),
              static_cast<unsigned long long>(v_.size), v_.etag.c_str(), v_.last_modified.c_str());
        return {};
      }
      if (o.verdict == Verdict::Fail) return Error{ErrorKind::Io, name_ + ": " + scrub(o.why)};
      if (attempt == opt_.max_retries)
        return Error{ErrorKind::Io, name_ + ": " + scrub(o.why) + " (gave up after " +
                                        std::to_string(attempt) + " retries)"};
      auto delay = backoff(attempt);
      debug("%s: %s; retrying in %lld ms", name_.c_str(), scrub(o.why).c_str(),
            static_cast<long long>(delay.count()));
      std::this_thread::sleep_for(delay);
    }
  }

  void start() {
    io_ = std::thread([this] { run(); });
  }

  Result<size_t> read_at(std::span<uint8_t> buf, uint64_t offset) const override {
    if (offset >= v_.size || buf.empty()) return size_t(0);
    size_t len = size_t(std::min<uint64_t>(buf.size(), v_.size - offset));
    uint64_t cs = opt_.chunk_size, first = offset / cs, last = (offset + len - 1) / cs;
    std::unique_lock lk(mu_);
    if (fatal_) return *fatal_;
    // Register as a waiter on every missing chunk first, so each one is
    // kept for us however many others arrive before we get to it.
    std::vector<bool> waiting(last - first + 1);
    bool queued = false;
    for (uint64_t i = first; i <= last; ++i)
      if (!cache_.contains(i)) {
        queued |= want(i, true);
        ++slots_[i].waiters;
        waiting[i - first] = true;
      }
    queued |= read_ahead(first, last);
    if (queued) curl_multi_wakeup(multi_);
    size_t done = 0;
    for (uint64_t i = first; i <= last; ++i) {
      ChunkCache::Chunk chunk = waiting[i - first] ? nullptr : cache_.get(i);
      if (!chunk) {
        if (!waiting[i - first]) {  // evicted since we looked
          if (want(i, true)) curl_multi_wakeup(multi_);
          ++slots_[i].waiters;
        }
        while (true) {
          if (fatal_) return *fatal_;  // the slots went with the run
          Slot& s = slots_[i];
          if (s.state == State::Done) {
            chunk = s.chunk;
            if (--s.waiters == 0) slots_.erase(i);
            break;
          }
          cv_.wait(lk);
        }
      }
      lk.unlock();
      uint64_t skip = std::max(offset, i * cs) - i * cs;
      size_t n = size_t(std::min<uint64_t>(len - done, chunk->size() - skip));
      std::memcpy(buf.data() + done, chunk->data() + skip, n);
      done += n;
      lk.lock();
    }
    return done;
  }

  uint64_t size() const override { return v_.size; }
  const std::string& name() const override { return name_; }

  // qemu's rule: an absolute path stays a local file; anything else is
  // relative to this URL, credentials included (same server).
  std::string resolve(const std::string& ref) const override {
    if (ref.empty() || ref[0] == '/' || is_url(ref)) return ref;
    auto r = resolve_url(url_, ref);
    return r ? *r : ref;
  }

 private:
  enum class State { Queued, Active, Delayed, Done };
  // A chunk on its way. Once Done it stays until its last waiter took the
  // data, so the LRU cannot evict a chunk out from under a reader.
  struct Slot {
    State state = State::Queued;
    bool demand = false;
    int attempt = 0;
    int waiters = 0;
    ChunkCache::Chunk chunk;
  };
  // A sequential reader: where it will read next, and when it last did.
  struct Stream {
    uint64_t next = UINT64_MAX;
    uint64_t used = 0;
  };

  void configure(Transfer& t) const {
    CURL* e = t.easy;
    curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, opt_.max_redirects);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, opt_.connect_timeout_s);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, opt_.stall_timeout_s);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "qflash");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  }

  std::chrono::milliseconds backoff(int attempt) const {
    return std::min(opt_.backoff * (int64_t(1) << std::min(attempt, 10)),
                    std::chrono::milliseconds(10000));
  }

  // Messages from curl name hosts, not credentials; this makes sure.
  std::string scrub(std::string msg) const {
    if (userinfo_.empty()) return msg;
    for (size_t at; (at = msg.find(userinfo_)) != std::string::npos;)
      msg.replace(at, userinfo_.size(), "***");
    return msg;
  }

  // Queues chunk `i` unless cached or on its way; a demand read overtakes
  // read-ahead. True if the I/O thread has something new to do.
  bool want(uint64_t i, bool demand) const {
    auto [it, fresh] = slots_.try_emplace(i);
    Slot& s = it->second;
    if (!fresh && (!demand || s.demand || s.state != State::Queued)) return false;
    s.demand = s.demand || demand;
    (demand ? demand_ : ahead_).push_back(i);
    return true;
  }

  // Keeps up to readahead_chunks queued past a read that continues one of
  // a few sequential streams; other reads start a new stream.
  bool read_ahead(uint64_t first, uint64_t last) const {
    ++clock_;
    Stream* s = nullptr;
    for (auto& st : streams_)
      if (st.next != UINT64_MAX && first <= st.next + 1 && first + opt_.readahead_chunks >= st.next)
        s = &st;
    if (!s) {
      s = &*std::min_element(streams_.begin(), streams_.end(),
                             [](const Stream& a, const Stream& b) { return a.used < b.used; });
      *s = {last + 1, clock_};
      return false;
    }
    s->next = std::max(s->next, last + 1);
    s->used = clock_;
    uint64_t chunks = (v_.size + opt_.chunk_size - 1) / opt_.chunk_size;
    bool queued = false;
    for (uint64_t i = last + 1; i <= last + opt_.readahead_chunks && i < chunks; ++i)
      if (!cache_.contains(i)) queued |= want(i, false);
    return queued;
  }

  std::optional<uint64_t> next_queued() {
    for (auto* q : {&demand_, &ahead_})
      while (!q->empty()) {
        uint64_t i = q->front();
        q->pop_front();
        auto it = slots_.find(i);
        if (it != slots_.end() && it->second.state == State::Queued) return i;
      }
    return std::nullopt;
  }

  void launch(uint64_t i) {
    Transfer* t;
    if (idle_.empty()) {
      transfers_.push_back(std::make_unique<Transfer>());
      t = transfers_.back().get();
      configure(*t);
    } else {
      t = idle_.back();
      idle_.pop_back();
    }
    uint64_t begin = i * opt_.chunk_size;
    uint64_t length = std::min<uint64_t>(opt_.chunk_size, v_.size - begin);
    t->reset(i, begin, length, length == v_.size);
    slots_[i].state = State::Active;
    ++active_;
    debug("%s: GET bytes %llu-%llu", name_.c_str(), static_cast<unsigned long long>(begin),
          static_cast<unsigned long long>(begin + t->length - 1));
    curl_multi_add_handle(multi_, t->easy);
  }

  void finish(Transfer& t, CURLcode rc) {
    Outcome o = judge(t, rc, &v_);
    std::lock_guard lk(mu_);
    --active_;
    idle_.push_back(&t);
    Slot& s = slots_[t.chunk];
    std::string where = name_ + ": bytes " + std::to_string(t.begin) + "-" +
                        std::to_string(t.begin + t.length - 1) + ": ";
    if (o.verdict == Verdict::Done) {
      auto chunk = std::make_shared<const std::vector<uint8_t>>(std::move(t.body));
      cache_.put(t.chunk, chunk);
      if (s.waiters == 0) {
        slots_.erase(t.chunk);
      } else {
        s.state = State::Done;
        s.chunk = std::move(chunk);
      }
    } else if (o.verdict == Verdict::Retry && s.attempt < opt_.max_retries) {
      auto delay = backoff(s.attempt++);
      s.state = State::Delayed;
      delayed_.push_back({Clock::now() + delay, t.chunk});
      debug("%s%s; retry %d in %lld ms", where.c_str(), scrub(o.why).c_str(), s.attempt,
            static_cast<long long>(delay.count()));
      return;
    } else {
      std::string why = scrub(o.why);
      if (o.verdict == Verdict::Retry)
        why += " (gave up after " + std::to_string(s.attempt) + " retries)";
      // A changed file is the image's fault, whichever range saw it.
      fatal_ = Error{ErrorKind::Io, why.starts_with(kChanged) ? name_ + ": " + why : where + why};
      slots_.clear();
      demand_.clear();
      ahead_.clear();
      delayed_.clear();
    }
    cv_.notify_all();
  }

  void run() {
    while (true) {
      auto wait = std::chrono::milliseconds(1000);
      {
        std::lock_guard lk(mu_);
        if (stop_) return;
        auto now = Clock::now();
        for (auto it = delayed_.begin(); it != delayed_.end();) {
          if (it->first <= now) {
            slots_[it->second].state = State::Queued;
            demand_.push_front(it->second);
            it = delayed_.erase(it);
          } else {
            wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(it->first - now));
            ++it;
          }
        }
        while (!fatal_ && active_ < opt_.max_transfers) {
          auto i = next_queued();
          if (!i) break;
          launch(*i);
        }
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      bool finished = false;
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL* easy = m->easy_handle;
        CURLcode rc = m->data.result;
        Transfer* t = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
        curl_multi_remove_handle(multi_, easy);
        finish(*t, rc);
        finished = true;
      }
      if (!finished) curl_multi_poll(multi_, nullptr, 0, int(wait.count()), nullptr);
    }
  }

  const std::string url_;       // with credentials: only ever given to curl
  const std::string name_;      // without them: for every message
  const std::string userinfo_;  // to scrub from curl's messages
  const HttpOptions opt_;
  curl_slist* headers_ = nullptr;
  Validators v_;
  CURLM* multi_ = nullptr;
  std::thread io_;

  // The I/O thread's own.
  std::vector<std::unique_ptr<Transfer>> transfers_;
  std::vector<Transfer*> idle_;

  // Shared with readers, under mu_ (read_at is const to callers).
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable ChunkCache cache_;
  mutable std::unordered_map<uint64_t, Slot> slots_;
  mutable std::deque<uint64_t> demand_, ahead_;
  mutable std::array<Stream, 4> streams_;
  mutable uint64_t clock_ = 0;
  std::vector<std::pair<Clock::time_point, uint64_t>> delayed_;
  long active_ = 0;
  std::optional<Error> fatal_;
  bool stop_ = false;
};

}  // namespace

Result<SourcePtr> open_http_source(const std::string& url, const SourceOptions& options,
                                   const HttpOptions& http) {
  curl_init_once();
  auto src = std::make_shared<HttpSource>(url, options, http);
  QF_TRY(src->probe());
  src->start();
  return SourcePtr(std::move(src));
}

}  // namespace qflash
