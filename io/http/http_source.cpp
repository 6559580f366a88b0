// The chunk scheduler. Threads: callers of read_at() touch the shared state
// only under mu_ and wake the I/O threads with curl_multi_wakeup(), the one
// thread-safe multi call. Each I/O thread (a lane) alone drives its multi
// handle and its transfers; the lanes share the queues and the plan under
// mu_. Two lanes on a machine of two CPUs or more: one thread receiving
// (the kernel's copy, then ours out of libcurl's buffer) tops out near
// 1.4 GB/s on a fast link, below what curl fetches on one connection.
// A chunk is Queued, then Active (part of one range request,
// possibly waiting for a retry), then Done: it stays in its slot until its
// last waiter took it, so the LRU cannot evict it from under a reader.
#include "io/http/http_source.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "io/base/debug.h"
#include "io/http/chunk_cache.h"
#include "io/http/pipeline.h"
#include "io/http/transfer.h"
#include "io/http/url.h"

namespace qflash {
namespace {

using Clock = std::chrono::steady_clock;

// Chunks a sequential stream read to their end, kept for a moment: the
// stream's readers run side by side (the engine has up to 16), and the one
// that reads a chunk's start may come after the one that read its end.
// Past these (8, or a quarter of a small cache), their buffers go back to
// the pool while still warm.
size_t retired_kept(size_t capacity) { return std::min<size_t>(8, capacity / 4); }

size_t lane_count(long max_transfers) {
  return max_transfers >= 2 && std::thread::hardware_concurrency() >= 2 ? 2 : 1;
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// `url` split into where to send requests and its decoded credentials.
Endpoint endpoint(const std::string& url, bool home) {
  Endpoint e{redact_url(url), {}, {}, home};
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (u && curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    for (auto [part, into] : {std::pair{CURLUPART_USER, &e.user}, {CURLUPART_PASSWORD, &e.password}}) {
      char* v = nullptr;
      if (curl_url_get(u.get(), part, &v, CURLU_URLDECODE) == CURLUE_OK && v) *into = v;
      curl_free(v);
    }
  }
  return e;
}

// Whether requests may go to `origin` at all; the refusal names the option.
Status check_origin(const std::string& what, const std::string& origin,
                    const std::string& home, const std::vector<std::string>& allowed) {
  if (origin == home || std::find(allowed.begin(), allowed.end(), origin) != allowed.end())
    return {};
  std::string image = home == kLocalOrigin ? "the image is a local file"
                                            : "not on the image's origin " + home;
  return usage(what + " is on " + origin + ", " + image + "; --allow-origin " + origin +
               " allows it (headers and credentials are never sent there)");
}

class HttpSource final : public Source {
 public:
  HttpSource(const std::string& url, const SourceOptions& options, const HttpOptions& http,
             std::string origin, std::string home)
      : url_(url),
        name_(redact_url(url)),
        userinfo_(url_userinfo(url)),
        origin_(std::move(origin)),
        home_(std::move(home)),
        allowed_(options.allowed_origins),
        opt_(http),
        retry_{http.max_retries, http.backoff},
        limits_{http.chunk_size, options.cache_bytes, http.max_transfers,
                http.readahead_chunks ? 1 : http.max_request_chunks},
        cache_(http.cache_chunks ? http.cache_chunks
                                 : std::max<size_t>(options.cache_bytes / http.chunk_size, 1),
               retired_kept(http.cache_chunks ? http.cache_chunks
                                              : options.cache_bytes / http.chunk_size)),
        pool_(std::make_shared<ChunkPool>(cache_.capacity() +
                                           size_t(http.max_transfers) * limits_.max_request_chunks)),
        lanes_(lane_count(http.max_transfers)) {
    for (const auto& h : options.http_headers) headers_ = curl_slist_append(headers_, h.c_str());
    settings_.headers = headers_;
    settings_.netrc = options.netrc;
    settings_.netrc_file = options.netrc_file;
    settings_.proxy = options.proxy;
    settings_.connect_timeout_s = http.connect_timeout_s;
    settings_.stall_timeout_s = http.stall_timeout_s;
    settings_.stop = options.stop;
    settings_.pool = pool_.get();
    data_ = endpoint(url, origin_ == home_);
    plan_ = http.readahead_chunks
                ? Pipeline{http.readahead_chunks, 1, http.max_transfers}
                : plan_pipeline({}, limits_);
    for (Lane& lane : lanes_) {
      // The first lane may run them all (lane_limit).
      const long most = &lane == &lanes_.front() ? http.max_transfers : lane_transfers(http.max_transfers);
      lane.multi = curl_multi_init();
      curl_multi_setopt(lane.multi, CURLMOPT_MAX_HOST_CONNECTIONS, most);
      curl_multi_setopt(lane.multi, CURLMOPT_MAXCONNECTS, most);
    }
  }

  ~HttpSource() override {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    // The hasher ends; an I/O thread may be waiting for room in its queue.
    hash_cv_.notify_all();
    hash_room_cv_.notify_all();
    wake();
    for (Lane& lane : lanes_)
      if (lane.thread.joinable()) lane.thread.join();
    if (hasher_.joinable()) hasher_.join();
    for (Lane& lane : lanes_) {
      for (auto& t : lane.transfers) curl_multi_remove_handle(lane.multi, t->easy());
      lane.transfers.clear();
      curl_multi_cleanup(lane.multi);
    }
    curl_slist_free_all(headers_);
  }

  // The opening request: a ranged GET of the first chunks (the image's
  // header is read from the first one, and most readers go on from there:
  // the rest of the answer is their data a round trip sooner than a request
  // sent once the header is read), on the first lane, retried like any
  // request, following redirects within the origin policy. Returns once
  // the first chunk is in, the size and validators known; the lane takes
  // the rest of the answer. Data requests go to where the redirects ended.
  Status open() {
    Lane& lane = lanes_.front();
    lane.transfers.push_back(std::make_unique<Transfer>(settings_));
    {
      std::lock_guard lk(mu_);
      opening_ = lane.transfers.back().get();
      ++lane.active;
      ask_opening(lane, Clock::now());
    }
    start();
    int redirects = 0, attempts = 0;
    while (true) {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [this] { return opened_ || opening_outcome_ || fatal_; });
      if (fatal_) return *fatal_;
      if (opened_) break;
      Outcome o = std::move(*opening_outcome_);
      opening_outcome_.reset();
      lk.unlock();
      if (o.verdict == Verdict::Done)  // all of it, but not its size
        return unsupported(name_ + ": the server does not tell the file's size");
      if (o.verdict == Verdict::Redirect) {
        std::string to = o.why, origin = url_origin(to);
        if (++redirects > opt_.max_redirects)
          return Error{ErrorKind::Io, name_ + ": more than " + std::to_string(opt_.max_redirects) +
                                          " redirects"};
        if (origin.empty())
          return unsupported(name_ + ": redirected to " + redact_url(to) +
                             ": unsupported URL scheme (qflash reads http:// and https://)");
        QF_TRY(check_origin(name_ + ": redirected to " + redact_url(to) + ", which", origin,
                            home_, allowed_));
        bool home = origin == home_;
        Endpoint next = endpoint(to, home);
        if (home && next.user.empty() && data_.home) {  // same origin: same credentials
          next.user = data_.user;
          next.password = data_.password;
        }
        debug("%s: redirected to %s%s", name_.c_str(), next.url.c_str(),
              home ? "" : " (another origin: no headers or credentials)");
        std::lock_guard g(mu_);
        data_ = std::move(next);
        reopen_at_ = Clock::now();
        wake();
        continue;
      }
      auto delay = o.verdict == Verdict::Retry ? retry_.delay(++attempts) : std::nullopt;
      if (!delay) return Error{ErrorKind::Io, name_ + ": " + gave_up(o, attempts)};
      debug("%s: %s; retrying in %lld ms", name_.c_str(), scrub(o.why).c_str(),
            static_cast<long long>(delay->count()));
      std::lock_guard g(mu_);
      reopen_at_ = Clock::now() + *delay;
      wake();
    }
    debug("%s: %llu bytes, ETag %s, Last-Modified %s", name_.c_str(),
          static_cast<unsigned long long>(v_.size), v_.etag.c_str(), v_.last_modified.c_str());
    return {};
  }

  // The I/O threads take no process signals: they belong to the caller's
  // threads (a SIGINT must reach the handler that stops the run, not kill
  // the process from here).
  void start() {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (Lane& lane : lanes_) lane.thread = std::thread([this, &lane] { run(lane); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  Result<size_t> read_at(std::span<uint8_t> buf, uint64_t offset) const override {
    if (offset >= v_.size || buf.empty()) return size_t(0);
    size_t len = size_t(std::min<uint64_t>(buf.size(), v_.size - offset));
    uint64_t cs = opt_.chunk_size, first = offset / cs, last = (offset + len - 1) / cs;
    std::unique_lock lk(mu_);
    if (fatal_) return *fatal_;
    // While it reads, chunks from `first` on are awaited in the cache.
    auto reading = reading_.insert(first);
    cache_.keep_from(*reading_.begin());
    auto got = read_chunks(lk, buf.first(len), offset, first, last);
    reading_.erase(reading);
    if (!reading_.empty()) cache_.keep_from(*reading_.begin());
    return got;
  }

  // Under mu_ (`lk`): chunks first..last, waited for, into `buf`.
  Result<size_t> read_chunks(std::unique_lock<std::mutex>& lk, std::span<uint8_t> buf, uint64_t offset,
                             uint64_t first, uint64_t last) const {
    const uint64_t cs = opt_.chunk_size;
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
    bool sequential = false;
    queued |= read_ahead(first, last, sequential);
    if (queued) wake();
    const size_t len = buf.size();
    size_t done = 0;
    for (uint64_t i = first; i <= last; ++i) {
      ChunkCache::Chunk chunk = waiting[i - first] ? nullptr : cache_.get(i);
      if (!chunk) {
        if (!waiting[i - first]) {  // evicted since we looked
          if (want(i, true)) wake();
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
          arrived(i).wait(lk);
        }
      }
      lk.unlock();
      uint64_t skip = std::max(offset, i * cs) - i * cs;
      size_t n = size_t(std::min<uint64_t>(len - done, chunk->size() - skip));
      std::memcpy(buf.data() + done, chunk->data() + skip, n);
      done += n;
      lk.lock();
      // A stream that has read the whole chunk (its readers run side by
      // side: the start may come last) will not be back for it: its buffer
      // is the first to go back to the pool, for the ranges ahead (no
      // fresh pages).
      if (cache_.taken(i, skip, n) && sequential) cache_.retire(i);
    }
    return done;
  }

  uint64_t size() const override { return v_.size; }
  const std::string& name() const override { return name_; }

  // The digest is taken from the chunks as they arrive, in file order, on
  // a thread of its own (not the I/O thread's, nor under the lock): a chunk
  // that arrives before the ones ahead of it in the file is kept (as many
  // as the cache holds or the requests in flight carry; past that, the
  // farthest is let go and fetched again when the digest reaches it), and
  // the missing ones fetched at once.
  bool start_sha256() const override {
    std::lock_guard lk(mu_);
    if (hashing_) return true;
    hashing_ = true;
    hasher_ = std::thread([this] { hash_chunks(); });
    // Chunks read before (the image's metadata) are taken if still cached,
    // else fetched again.
    take_in_order();
    if (fetch_for_hash()) wake();
    return true;
  }

  Result<Sha256::Digest> finish_sha256(const std::atomic<bool>& cancel) const override {
    std::unique_lock lk(mu_);
    while (hashed_ < chunk_count()) {
      if (fatal_) return *fatal_;
      if (cancel) return Error{ErrorKind::Interrupted, name_ + ": digest not finished"};
      take_in_order();
      if (fetch_for_hash(true)) wake();
      cv_.wait_for(lk, std::chrono::milliseconds(50));
    }
    return sha_.finish();  // the hasher is done with it
  }

  // qemu's rule: an absolute path stays a local file; anything else is
  // relative to this URL, credentials included (same origin).
  std::string resolve(const std::string& ref) const override {
    if (ref.empty() || ref[0] == '/' || is_url(ref)) return ref;
    auto r = resolve_url(url_, ref);
    return r ? *r : ref;
  }

 private:
  enum class State { Queued, Active, Done };
  struct Slot {
    State state = State::Queued;
    bool demand = false;
    int waiters = 0;
    ChunkCache::Chunk chunk;
  };
  // A sequential reader: where it will read next, and when it last did.
  struct Stream {
    uint64_t next = UINT64_MAX;
    uint64_t used = 0;
  };

  // One I/O thread and what only it touches (`idle`, `active` and
  // `delayed` under mu_, with the shared state they follow).
  struct Lane {
    CURLM* multi = nullptr;
    std::thread thread;
    std::vector<std::unique_ptr<Transfer>> transfers;
    std::vector<std::pair<Clock::time_point, Transfer*>> delayed;  // retries, when due
    std::vector<Transfer*> idle;
    long active = 0;  // transfers running or waiting for a retry
  };

  bool stopped() const { return settings_.stop && settings_.stop->load(); }

  // Each lane's share of `transfers` requests in flight.
  long lane_transfers(long transfers) const {
    const long n = long(lanes_.size());
    return (std::max<long>(transfers, 1) + n - 1) / n;
  }

  // Under mu_: how many requests `lane` may have in flight. While the
  // digest is taken, the first lane alone starts them: an I/O thread waits
  // in hash() while the hasher is behind, which paces the link; another
  // lane went on receiving meanwhile, the chunks it brought pushed unread
  // ones out of a small cache, and they came twice (24 MiB at --memory=16M
  // on a loaded machine: 26-40 requests of 1 MiB instead of 25).
  long lane_limit(const Lane& lane) const {
    if (hashing_) return &lane == &lanes_.front() ? plan_.transfers : 0;
    return lane_transfers(plan_.transfers);
  }

  // Under mu_: transfers running or waiting for a retry, all lanes.
  long active() const {
    long n = 0;
    for (const Lane& lane : lanes_) n += lane.active;
    return n;
  }

  // Something new to do: every lane looks (the one with room takes it).
  void wake() const {
    for (const Lane& lane : lanes_) curl_multi_wakeup(lane.multi);
  }

  std::string gave_up(const Outcome& o, int attempts) const {
    std::string why = scrub(o.why);
    if (o.verdict == Verdict::Retry)
      why += " (gave up after " + std::to_string(attempts - 1) + " retries)";
    return why;
  }

  // Messages from curl name hosts, not credentials; this makes sure.
  std::string scrub(std::string msg) const {
    for (const std::string* secret : {&userinfo_, &data_.password})
      if (!secret->empty())
        for (size_t at; (at = msg.find(*secret)) != std::string::npos;)
          msg.replace(at, secret->size(), "***");
    return msg;
  }

  // Queues chunk `i` unless cached or on its way; a demand read overtakes
  // read-ahead, and demands go lowest first: the engine's readers ask side
  // by side, in no set order, and chunks that arrive in file order are
  // hashed at once instead of held. True if the I/O thread has something
  // new to do.
  bool want(uint64_t i, bool demand) const {
    auto [it, fresh] = slots_.try_emplace(i);
    Slot& s = it->second;
    if (!fresh && (!demand || s.demand || s.state != State::Queued)) return false;
    s.demand = s.demand || demand;
    if (demand)
      demand_.insert(i);
    else
      ahead_.push_back(i);
    return true;
  }

  // Keeps plan_.ahead_chunks queued past a read that continues one of a
  // few sequential streams; other reads start a new stream.
  bool read_ahead(uint64_t first, uint64_t last, bool& sequential) const {
    ++clock_;
    // The chunks ahead (on their way, or cached and not read yet) fit in
    // the cache beside the retired ones and the stream's current one, read
    // in part: those arriving must not push it out before the stream's
    // next read takes the rest.
    const size_t room = cache_.capacity() - retired_kept(cache_.capacity());
    const uint64_t ahead = std::min<uint64_t>(plan_.ahead_chunks, std::max<size_t>(room, 2) - 1);
    Stream* s = nullptr;
    for (auto& st : streams_)
      if (st.next != UINT64_MAX && first <= st.next + 1 && first + ahead >= st.next) s = &st;
    sequential = s != nullptr;
    if (!s) {
      s = &*std::min_element(streams_.begin(), streams_.end(),
                             [](const Stream& a, const Stream& b) { return a.used < b.used; });
      *s = {last + 1, clock_};
      return false;
    }
    // From the stream's frontier on: a read behind it (another worker's,
    // late) does not ask again for chunks the stream already consumed.
    uint64_t from = std::max(s->next, last + 1);
    s->next = from;
    s->used = clock_;
    const uint64_t chunks = chunk_count();
    // Nor more than fit beside the chunks still to be read whole, wherever
    // they are: the stream's readers run side by side, behind its frontier
    // by up to as many reads as there are readers.
    size_t outstanding = cache_.reserved() + cache_.awaited() + ahead_.size();
    bool queued = false;
    for (uint64_t i = from; i <= last + ahead && i < chunks && outstanding + 1 < room; ++i)
      if (!cache_.contains(i) && want(i, false)) {
        queued = true;
        ++outstanding;
      }
    return queued;
  }

  std::optional<uint64_t> next_queued() {
    auto queued = [this](uint64_t i) {
      auto it = slots_.find(i);
      return it != slots_.end() && it->second.state == State::Queued;
    };
    while (!demand_.empty()) {
      uint64_t i = *demand_.begin();
      demand_.erase(demand_.begin());
      if (queued(i)) return i;
    }
    while (!ahead_.empty()) {
      uint64_t i = ahead_.front();
      ahead_.pop_front();
      if (queued(i)) return i;
    }
    return std::nullopt;
  }

  // Under mu_, on the first lane (or before the lanes run): the opening
  // request, from the start, to data_, sent at `at`. Again from the start
  // after a failure: a resumed first chunk could join two versions of the
  // file, and there are no validators yet to tell.
  void ask_opening(Lane& lane, Clock::time_point at) {
    Transfer& t = *opening_;
    const uint64_t length = uint64_t(opening_chunks()) * opt_.chunk_size;
    t.aim(data_);
    t.start_opening(length, opt_.chunk_size, &v_,
                    [this, &t](uint64_t offset, std::vector<uint8_t>&& part) {
                      std::unique_lock lk(mu_);
                      if (fatal_) return;
                      if (!opened_) opened(t);
                      publish(lk, offset / opt_.chunk_size, std::move(part));
                    });
    debug("%s: probing %s with GET bytes 0-%llu", name_.c_str(), data_.url.c_str(),
          static_cast<unsigned long long>(length - 1));
    lane.delayed.push_back({at, &t});
  }

  // Chunks the opening request asks for: a few, and few enough that the
  // cache keeps them beside the read-ahead until they are read.
  size_t opening_chunks() const {
    return std::clamp<size_t>(cache_.capacity() / 4, 1, std::max<size_t>(opt_.opening_chunks, 1));
  }

  // Under mu_, on the first lane: the opening answer's head checked out
  // (v_ is the file's) and its first chunk arrived. Its round trip,
  // measured before any other request loads the link, plans the read-ahead
  // from the start; the chunks still to come in the answer are on their
  // way, as if asked for.
  void opened(const Transfer& t) {
    opened_ = true;
    link_.rtt_s = t.first_byte_seconds();
    if (!opt_.readahead_chunks) plan_ = plan_pipeline(link_, limits_);
    size_t coming = 0;
    for (uint64_t i = 1; i * opt_.chunk_size < t.length(); ++i, ++coming)
      slots_[i].state = State::Active;
    cache_.reserve(coming);
    cv_.notify_all();
  }

  // One range request for chunk `i` and the queued chunks right after it,
  // up to plan_.request_chunks: fewer, larger requests on a far link. Its
  // buffers are taken after the request is out (Transfer::take_buffers).
  void launch(Lane& lane, uint64_t i) {
    Transfer* t;
    if (lane.idle.empty()) {
      lane.transfers.push_back(std::make_unique<Transfer>(settings_));
      t = lane.transfers.back().get();
      t->aim(data_);
    } else {
      t = lane.idle.back();
      lane.idle.pop_back();
    }
    uint64_t n = 1, cs = opt_.chunk_size, chunks = chunk_count();
    while (n < plan_.request_chunks && i + n < chunks) {
      auto it = slots_.find(i + n);
      if (it == slots_.end() || it->second.state != State::Queued) break;
      ++n;
    }
    for (uint64_t k = i; k < i + n; ++k) slots_[k].state = State::Active;
    cache_.reserve(n);  // in flight and cached together stay within the cache
    uint64_t begin = i * cs, length = std::min<uint64_t>(n * cs, v_.size - begin);
    t->start(begin, length, length == v_.size, cs, &v_,
             [this](uint64_t offset, std::vector<uint8_t>&& part) {
               std::unique_lock lk(mu_);
               if (!fatal_) publish(lk, offset / opt_.chunk_size, std::move(part));
             });
    ++lane.active;
    debug("%s: GET bytes %llu-%llu", name_.c_str(), static_cast<unsigned long long>(begin),
          static_cast<unsigned long long>(begin + length - 1));
    curl_multi_add_handle(lane.multi, t->easy());
  }

  // Under mu_ (`lk`): chunk `i` arrived whole and checked; its waiters
  // wake.
  void publish(std::unique_lock<std::mutex>& lk, uint64_t i, std::vector<uint8_t>&& bytes) {
    delivered_ += bytes.size();
    auto chunk = pool_->share(std::move(bytes));
    cache_.put(i, chunk);
    auto it = slots_.find(i);
    if (it != slots_.end()) {
      if (it->second.waiters == 0) {
        slots_.erase(it);
      } else {
        it->second.state = State::Done;
        it->second.chunk = chunk;
        arrived(i).notify_all();
      }
    }
    hash(lk, i, std::move(chunk));
  }

  uint64_t chunk_count() const { return (v_.size + opt_.chunk_size - 1) / opt_.chunk_size; }

  // Under mu_ (`lk`), on the I/O thread: chunk `i` arrived. The next one
  // in the file goes to the hasher (from the opening on: the header's
  // chunk, read first, is rarely still cached when the run asks for the
  // digest), waiting for room if the hasher is behind the link; once the
  // digest is asked for, others are held until the ones before them came.
  void hash(std::unique_lock<std::mutex>& lk, uint64_t i, ChunkCache::Chunk chunk) const {
    if (i < next_hash_ || (i > next_hash_ && !hashing_)) return;
    if (i > next_hash_) {
      if (held_.size() >= most_held()) {
        // The farthest goes (it comes back when the digest gets there):
        // memory stays bounded, and at worst a few chunks come twice.
        auto farthest = std::prev(held_.end());
        if (farthest->first > i) held_.erase(farthest);
      }
      if (held_.size() < most_held()) held_.emplace(i, std::move(chunk));
      fetch_for_hash();
      return;
    }
    if (hashing_)
      hash_room_cv_.wait(lk, [this] { return to_hash_.size() < hash_room() || stop_ || fatal_; });
    if (stop_ || fatal_ || i != next_hash_ || to_hash_.size() >= hash_room()) return;
    take(std::move(chunk));
    take_in_order();
  }

  // As many as the cache holds, or the requests in flight carry: about
  // what arrives while a missing chunk is on its way.
  size_t most_held() const {
    return std::max(cache_.capacity(), size_t(plan_.transfers) * plan_.request_chunks);
  }

  // How many chunks may wait for the hasher: before the digest is asked
  // for, the few the opening reads (the header's), kept in case it is.
  size_t hash_room() const { return hashing_ ? most_held() : 4; }

  // Under mu_: the chunks the digest waits for (from next_hash_ on, neither
  // held nor cached; before the farthest held one while the run reads, to
  // the file's end once it is over), ahead of the read-ahead and as many
  // as could be held. True if any was queued.
  bool fetch_for_hash(bool run_over = false) const {
    const uint64_t chunks = chunk_count();
    const uint64_t end = run_over       ? chunks
                         : held_.empty() ? std::min(chunks, next_hash_ + 1)
                                         : held_.rbegin()->first;
    size_t room = most_held() > held_.size() ? most_held() - held_.size() : 1;
    bool queued = false;
    for (uint64_t i = next_hash_; i < end && room > 0; ++i) {
      if (held_.contains(i) || cache_.contains(i)) continue;
      queued |= want(i, true);
      --room;
    }
    return queued;
  }

  // Under mu_: chunk next_hash_ goes to the hasher.
  void take(ChunkCache::Chunk chunk) const {
    to_hash_.push_back(std::move(chunk));
    ++next_hash_;
    hash_cv_.notify_one();
  }

  // Under mu_: the chunks from next_hash_ on that are held or cached go to
  // the hasher, as many as it has room for.
  void take_in_order() const {
    while (to_hash_.size() < hash_room()) {
      ChunkCache::Chunk c;
      if (auto it = held_.find(next_hash_); it != held_.end()) {
        c = std::move(it->second);
        held_.erase(it);
      } else if (auto slot = slots_.find(next_hash_);
                 slot != slots_.end() && slot->second.state == State::Done) {
        c = slot->second.chunk;  // kept for its waiters, maybe evicted
      } else {
        c = cache_.peek(next_hash_);
      }
      if (!c) return;
      take(std::move(c));
    }
  }

  // The hasher thread: hashes the chunks taken, in order, outside the lock.
  void hash_chunks() const {
    std::unique_lock lk(mu_);
    while (hashed_ < chunk_count()) {
      hash_cv_.wait(lk, [this] { return !to_hash_.empty() || stop_; });
      if (stop_) return;
      ChunkCache::Chunk c = std::move(to_hash_.front());
      to_hash_.pop_front();
      hash_room_cv_.notify_all();
      lk.unlock();
      sha_.update(*c);
      c.reset();  // its buffer back to the pool, outside the lock
      lk.lock();
      ++hashed_;
      cv_.notify_all();  // finish_sha256() waits for the last one
    }
  }

  // Under mu_: the run is over; every reader wakes to `e`.
  void fail(Error e) {
    fatal_ = std::move(e);
    hash_room_cv_.notify_all();
    slots_.clear();
    demand_.clear();
    ahead_.clear();
    cv_.notify_all();
    for (auto& c : arrived_) c.notify_all();
  }

  // Under mu_: transfer `t` of `lane` is free again.
  void retire_transfer(Lane& lane, Transfer& t) {
    --lane.active;
    lane.idle.push_back(&t);
  }

  void finish(Lane& lane, Transfer& t, CURLcode rc) {
    std::unique_lock lk(mu_);
    const bool opening = &t == opening_ && !opened_;
    lk.unlock();
    Outcome o = t.finish(rc, opening ? nullptr : &v_);
    lk.lock();
    if (opening && !fatal_) {  // open() decides, the transfer parked
      opening_outcome_ = std::move(o);
      cv_.notify_all();
      return;
    }
    if (o.verdict == Verdict::Done) measure(t);
    if (fatal_) return retire_transfer(lane, t);
    if (o.verdict != Verdict::Done && stopped()) {
      // Cut short by the stop request (the progress callback aborts it):
      // the run is stopping, the range did not fail.
      retire_transfer(lane, t);
      fail(Error{ErrorKind::Interrupted, name_ + ": interrupted"});
      return;
    }
    std::string where = name_ + ": bytes " + std::to_string(t.begin()) + "-" +
                        std::to_string(t.begin() + t.length() - 1) + ": ";
    if (o.verdict == Verdict::Retry) {
      if (auto delay = retry_.delay(++t.attempts)) {
        debug("%s%s; retry %d in %lld ms%s", where.c_str(), scrub(o.why).c_str(), t.attempts,
              static_cast<long long>(delay->count()),
              o.resume ? (", from byte " + std::to_string(t.begin() + t.received())).c_str() : "");
        t.again(o.resume);
        lane.delayed.push_back({Clock::now() + *delay, &t});
        return;
      }
    }
    retire_transfer(lane, t);
    if (o.verdict == Verdict::Done) {
      uint64_t first = t.begin() / opt_.chunk_size;
      auto parts = t.take_parts();
      for (size_t k = 0; k < parts.size(); ++k)
        if (!parts[k].empty()) publish(lk, first + k, std::move(parts[k]));  // else published
      return;
    }
    if (o.verdict == Verdict::Redirect)
      o.why = "the server redirected a range request to " + redact_url(o.why);
    std::string why = gave_up(o, t.attempts);
    // A changed file is the image's fault, whichever range saw it.
    fail(Error{ErrorKind::Io, why.starts_with(kImageChanged) ? name_ + ": " + why : where + why});
  }

  // Under mu_: folds a finished request into the link estimate (the bytes of chunks
  // that arrived, each as it did: a request of several chunks counted only
  // once it ended made the run's first windows read 10-15 MB/s on a 300
  // MB/s link, and the pipeline shrank to 1 MiB requests); every window of
  // a few round trips, the pipeline is planned again from it.
  void measure(const Transfer& t) {
    const double rtt = t.first_byte_seconds();
    if (rtt > 0) link_.rtt_s = link_.rtt_s == 0 ? rtt : std::min(link_.rtt_s, rtt);
    auto now = Clock::now();
    double elapsed = std::chrono::duration<double>(now - window_start_).count();
    if (window_start_ == Clock::time_point{}) {
      window_start_ = now;
      window_delivered_ = delivered_;
      return;
    }
    if (elapsed < std::max(0.25, 4 * link_.rtt_s)) return;
    link_.rate = double(delivered_ - window_delivered_) / elapsed;
    window_start_ = now;
    window_delivered_ = delivered_;
    if (opt_.readahead_chunks) return;
    plan_ = plan_pipeline(link_, limits_);
    debug("%s: round trip %.1f ms, %.1f MB/s: %zu chunks ahead, %zu per request, %ld at once",
          name_.c_str(), link_.rtt_s * 1e3, link_.rate / 1e6, plan_.ahead_chunks,
          plan_.request_chunks, plan_.transfers);
  }

  void run(Lane& lane) {
    while (true) {
      auto wait = std::chrono::milliseconds(settings_.stop ? 50 : 1000);
      {
        std::lock_guard lk(mu_);
        if (stop_) return;
        if (stopped() && !fatal_) {
          for (auto& t : lane.transfers) curl_multi_remove_handle(lane.multi, t->easy());
          fail(Error{ErrorKind::Interrupted, name_ + ": interrupted"});
        }
        if (reopen_at_ && &lane == &lanes_.front() && !fatal_) {
          ask_opening(lane, *reopen_at_);
          reopen_at_.reset();
        }
        auto now = Clock::now();
        for (auto it = lane.delayed.begin(); it != lane.delayed.end();) {
          if (fatal_) {
            retire_transfer(lane, *it->second);
            it = lane.delayed.erase(it);
          } else if (it->first <= now) {
            curl_multi_add_handle(lane.multi, it->second->easy());
            it = lane.delayed.erase(it);
          } else {
            wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(it->first - now));
            ++it;
          }
        }
        while (!fatal_ && active() < plan_.transfers && lane.active < lane_limit(lane)) {
          auto i = next_queued();
          if (!i) break;
          launch(lane, *i);
        }
      }
      int running = 0;
      curl_multi_perform(lane.multi, &running);
      // Requests sent: their buffers are faulted in (outside the lock) while
      // the answers are on their way.
      for (auto& t : lane.transfers)
        if (t->wants_buffers()) t->take_buffers();
      bool finished = false;
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(lane.multi, &left)) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL* easy = m->easy_handle;
        CURLcode rc = m->data.result;
        Transfer* t = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
        curl_multi_remove_handle(lane.multi, easy);
        finish(lane, *t, rc);
        finished = true;
      }
      if (!finished) curl_multi_poll(lane.multi, nullptr, 0, int(wait.count()), nullptr);
    }
  }

  const std::string url_;       // with credentials: only resolved against
  const std::string name_;      // without them: for every message
  const std::string userinfo_;  // to scrub from curl's messages
  const std::string origin_, home_;
  const std::vector<std::string> allowed_;
  const HttpOptions opt_;
  const RetryPolicy retry_;
  const PipelineLimits limits_;
  curl_slist* headers_ = nullptr;
  TransferSettings settings_;
  Endpoint data_;  // where range requests go (after the opening's redirects)
  Validators v_;   // the opening answer's; fixed once opened_

  // Under mu_: the opening request (the first lane's), whether its first
  // chunk came (v_ known), its outcome while it has not (for open() to act
  // on: the transfer is parked), and when the lane is to send it again.
  Transfer* opening_ = nullptr;
  bool opened_ = false;
  std::optional<Outcome> opening_outcome_;
  std::optional<Clock::time_point> reopen_at_;

  // Under mu_ once the lanes run.
  LinkEstimate link_;
  Clock::time_point window_start_{};
  uint64_t window_delivered_ = 0;  // delivered_ as the window began
  uint64_t delivered_ = 0;         // bytes of chunks arrived (counted as each arrives)

  // Shared with readers, under mu_ (read_at is const to callers).
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // the digest's end, the run's
  // Readers wait for chunk i on arrived(i): one condition per chunk would
  // outlive its slot, one for all woke every reader (up to 16 of them) for
  // each chunk, on 2 CPUs a context switch each.
  mutable std::array<std::condition_variable, 32> arrived_;
  std::condition_variable& arrived(uint64_t i) const { return arrived_[i % arrived_.size()]; }
  mutable ChunkCache cache_;
  std::shared_ptr<ChunkPool> pool_;  // outlives every chunk handed out
  std::vector<Lane> lanes_;
  mutable std::unordered_map<uint64_t, Slot> slots_;
  mutable std::set<uint64_t> demand_;
  mutable std::deque<uint64_t> ahead_;
  mutable std::multiset<uint64_t> reading_;  // first chunk of each read in progress
  mutable std::array<Stream, 4> streams_;
  mutable uint64_t clock_ = 0;
  Pipeline plan_;
  std::optional<Error> fatal_;
  bool stop_ = false;
  // The file's SHA-256, taken from the chunks as they arrive (start_sha256):
  // chunks [0, next_hash_) were taken, of which the hasher hashed hashed_;
  // the others wait in to_hash_. sha_ is the hasher's alone until it ends.
  mutable bool hashing_ = false;
  mutable std::thread hasher_;
  mutable std::condition_variable hash_cv_, hash_room_cv_;
  mutable Sha256 sha_;
  mutable uint64_t next_hash_ = 0, hashed_ = 0;
  mutable std::deque<ChunkCache::Chunk> to_hash_;
  mutable std::map<uint64_t, ChunkCache::Chunk> held_;
};

}  // namespace

Result<SourcePtr> open_http_source(const std::string& url, const SourceOptions& options,
                                   const HttpOptions& http) {
  curl_init_once();
  std::string origin = url_origin(url);
  if (origin.empty()) return usage(redact_url(url) + ": not a valid http(s) URL");
  std::string home = options.home_origin.empty() ? origin : options.home_origin;
  QF_TRY(check_origin(redact_url(url), origin, home, options.allowed_origins));
  auto src = std::make_shared<HttpSource>(url, options, http, origin, home);
  QF_TRY(src->open());
  return SourcePtr(std::move(src));
}

}  // namespace qflash
