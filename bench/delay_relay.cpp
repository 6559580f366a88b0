// delay_relay: a TCP relay on 127.0.0.1 that adds a fixed delay each way,
// for bench/http-latency.sh (a round trip of twice --delay-ms).
//
//   delay_relay --to HOST:PORT --port N --delay-ms D [--window BYTES]
//
// Each direction of each connection is a reader thread, which stamps what
// it reads with the time it may leave, and a writer thread, which sends it
// then. At most --window bytes (default 16 MiB) wait per direction, as a
// TCP receive window would, so one connection's rate is bounded by
// window / delay as on a real long link. Threads, not an event loop: the
// relay must not be what limits a benchmark on a 2-core machine (the
// Python relay it replaces was, at about 100 MB/s). The bytes wait in pipes
// and move with splice(), never through the relay's memory: a relay that
// copied them took more CPU than the client it measured (0.27 s for 384 MiB
// against curl's 0.14 s), and on two cores that is a load no real link puts
// on the client's machine.
#include <arpa/inet.h>
#include <signal.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kPiece = 1024 * 1024;
// Pieces waiting per direction (each a pipe, two descriptors).
constexpr size_t kMaxPieces = 128;

// A pipe that holds one piece on its way, reused.
class Pipe {
 public:
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      r_ = fds[0];
      w_ = fds[1];
      ::fcntl(w_, F_SETPIPE_SZ, int(kPiece));  // as large as allowed; smaller is fine
    }
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    if (r_ >= 0) ::close(r_);
    if (w_ >= 0) ::close(w_);
  }
  bool ok() const { return r_ >= 0; }
  int r() const { return r_; }
  int w() const { return w_; }

 private:
  int r_ = -1, w_ = -1;
};

struct Piece {
  Clock::time_point due;
  std::unique_ptr<Pipe> pipe;
  size_t size = 0;  // 0: the sender closed its side
};

// One direction of a connection: bytes from `from` to `to`, each piece
// held until its due time.
class Pump {
 public:
  Pump(int from, int to, Clock::duration delay, size_t window)
      : from_(from), to_(to), delay_(delay), window_(window) {}

  void read_loop() {
    while (true) {
      {
        std::unique_lock lk(mu_);
        room_.wait(lk, [&] { return (queued_ < window_ && pieces_.size() < kMaxPieces) || broken_; });
        if (broken_) return;
      }
      std::unique_ptr<Pipe> pipe;
      {
        std::lock_guard lk(mu_);
        if (!spare_.empty()) {
          pipe = std::move(spare_.back());
          spare_.pop_back();
        }
      }
      if (!pipe) pipe = std::make_unique<Pipe>();
      const ssize_t n = pipe->ok() ? ::splice(from_, nullptr, pipe->w(), nullptr, kPiece, SPLICE_F_MOVE) : -1;
      const size_t size = n > 0 ? size_t(n) : 0;
      std::lock_guard lk(mu_);
      queued_ += size;
      pieces_.push_back({Clock::now() + delay_, std::move(pipe), size});
      ready_.notify_one();
      if (n <= 0) return;
    }
  }

  void write_loop() {
    while (true) {
      Piece p;
      {
        std::unique_lock lk(mu_);
        ready_.wait(lk, [&] { return !pieces_.empty(); });
        p = std::move(pieces_.front());
        pieces_.pop_front();
      }
      std::this_thread::sleep_until(p.due);
      if (p.size == 0) {
        ::shutdown(to_, SHUT_WR);
        return;
      }
      for (size_t done = 0; done < p.size;) {
        const ssize_t n = ::splice(p.pipe->r(), nullptr, to_, nullptr, p.size - done, SPLICE_F_MOVE);
        if (n <= 0) {
          std::lock_guard lk(mu_);
          broken_ = true;
          room_.notify_all();
          ::shutdown(from_, SHUT_RD);
          return;
        }
        done += size_t(n);
      }
      std::lock_guard lk(mu_);
      queued_ -= p.size;
      spare_.push_back(std::move(p.pipe));
      room_.notify_one();
    }
  }

 private:
  int from_, to_;
  Clock::duration delay_;
  size_t window_;
  std::mutex mu_;
  std::condition_variable room_, ready_;
  std::deque<Piece> pieces_;
  std::vector<std::unique_ptr<Pipe>> spare_;
  size_t queued_ = 0;
  bool broken_ = false;
};

int connect_to(const sockaddr_in& to) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Relays one client until both directions ended; closes both sockets.
void relay(int client, sockaddr_in to, Clock::duration delay, size_t window) {
  const int server = connect_to(to);
  if (server < 0) {
    ::close(client);
    return;
  }
  for (int fd : {client, server}) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  Pump up(client, server, delay, window), down(server, client, delay, window);
  std::thread threads[] = {std::thread(&Pump::read_loop, &up), std::thread(&Pump::write_loop, &up),
                           std::thread(&Pump::read_loop, &down),
                           std::thread(&Pump::write_loop, &down)};
  for (auto& t : threads) t.join();
  ::close(client);
  ::close(server);
}

[[noreturn]] void usage() {
  std::fprintf(stderr, "usage: delay_relay --to HOST:PORT --port N --delay-ms D [--window BYTES]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string to;
  int port = 0;
  double delay_ms = 0;
  size_t window = 16u << 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string opt = argv[i], value = argv[i + 1];
    if (opt == "--to") to = value;
    else if (opt == "--port") port = std::atoi(value.c_str());
    else if (opt == "--delay-ms") delay_ms = std::atof(value.c_str());
    else if (opt == "--window") window = std::strtoull(value.c_str(), nullptr, 10);
    else usage();
  }
  // A client that closes mid-answer (qflash info, once the header is read)
  // makes the next splice() fail with EPIPE: that connection ends, not the
  // relay.
  ::signal(SIGPIPE, SIG_IGN);
  // Every piece waiting is a pipe: as many descriptors as allowed.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  const size_t colon = to.rfind(':');
  if (colon == std::string::npos || argc % 2 == 0) usage();
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(uint16_t(std::atoi(to.c_str() + colon + 1)));
  if (::inet_pton(AF_INET, to.substr(0, colon).c_str(), &target.sin_addr) != 1) usage();

  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in here{};
  here.sin_family = AF_INET;
  here.sin_port = htons(uint16_t(port));
  here.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&here), sizeof here) < 0 ||
      ::listen(listener, 128) < 0) {
    std::perror("delay_relay: listen");
    return 1;
  }
  const auto delay = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::milli>(delay_ms));
  while (true) {
    const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::thread(relay, client, target, delay, window).detach();
  }
}
