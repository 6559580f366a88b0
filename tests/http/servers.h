// Test servers on 127.0.0.1 for the HTTP source tests: Debian's nginx with
// a config written into a scratch directory, and our faulty_server.py. Each
// is a child process stopped (SIGTERM, waited for) when the object goes out
// of scope, also when a test fails. Start-up waits are bounded in time.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/support.h"

namespace qflash::test {

// A port nobody listens on right now (the kernel's pick).
inline int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

// Requests to our servers must not go through a proxy from the environment
// (libcurl honours http_proxy), for this process and the qflash it runs.
inline void bypass_proxies() {
  ::setenv("no_proxy", "127.0.0.1", 1);
  ::setenv("NO_PROXY", "127.0.0.1", 1);
}

inline bool port_open(int port) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(uint16_t(port));
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~ChildProcess() { stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running() {
    if (pid_ <= 0) return false;
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = -1;
    return pid_ > 0;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (::kill(pid_, 0) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The port a server script started as `proc` writes to `port_file` once it
// listens (up to 10 s); throws if it exits or never does.
inline int port_from_file(ChildProcess& proc, const std::string& port_file,
                          const std::string& what) {
  for (int i = 0; i < 500 && proc.running(); ++i) {
    if (std::filesystem::exists(port_file)) return std::stoi(slurp(port_file));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error(what + " did not start");
}

// dir/www/disk.qcow2, for a server of dir/www: 48 MiB with 25 MiB of data,
// so that range requests follow the opening one (16 MiB). Returns its path.
inline std::string make_served_image(const ScratchDir& dir) {
  fs::create_directories(dir / "www");
  std::string img = dir / "www/disk.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 48M");
  must("qemu-io -f qcow2 -c 'write -P 0x5a 0 10M' -c 'write -P 0x11 17M 3M' "
       "-c 'write -P 0x33 28M 12M' " + img + " >/dev/null");
  return img;
}

// nginx serving `root`, one process (master_process off) in the foreground.
// `extra` is pasted into the server block (locations, auth, certificates);
// `tls` makes it listen for https.
class Nginx {
 public:
  Nginx(const ScratchDir& dir, const std::string& root, const std::string& extra = "",
        bool tls = false, const std::string& http_extra = "")
      : scheme_(tls ? "https" : "http") {
    bypass_proxies();
    std::string conf = dir / "nginx.conf", logs = dir / "nginx";
    std::filesystem::create_directories(logs);
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_port();
      std::ofstream(conf) << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
                          << "pid " << logs << "/nginx.pid;\nerror_log " << logs << "/error.log;\n"
                          << "events { worker_connections 256; }\nhttp {\n"
                          << "  access_log " << logs << "/access.log;\n"
                          << "  client_body_temp_path " << logs << "/body;\n"
                          << "  proxy_temp_path " << logs << "/proxy;\n"
                          << "  fastcgi_temp_path " << logs << "/fastcgi;\n"
                          << "  uwsgi_temp_path " << logs << "/uwsgi;\n"
                          << "  scgi_temp_path " << logs << "/scgi;\n"
                          << "  default_type application/octet-stream;\n  sendfile on;\n"
                          << "  keepalive_requests 100000;\n" << http_extra << "\n"
                          << "  server {\n    listen 127.0.0.1:" << port_ << (tls ? " ssl" : "")
                          << ";\n"
                          << "    root " << root << ";\n"
                          << extra << "\n  }\n}\n";
      proc_ = std::make_unique<ChildProcess>(
          std::vector<std::string>{"nginx", "-p", logs, "-e", logs + "/error.log", "-c", conf});
      for (int i = 0; i < 250 && proc_->running(); ++i) {
        if (port_open(port_)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      proc_->stop();
    }
    throw std::runtime_error("nginx did not start: " + slurp(logs + "/error.log"));
  }
  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return scheme_ + "://127.0.0.1:" + std::to_string(port_) + "/" + path;
  }

 private:
  std::string scheme_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> proc_;
};

// tests/http/faulty_server.py serving `root`; `flags` as the script takes
// them (--fail-rate, --seed, --ignore-range, --change-after, ...).
class FaultyServer {
 public:
  FaultyServer(const ScratchDir& dir, const std::string& root, std::vector<std::string> flags = {})
      : log_(dir / "faulty.log") {
    bypass_proxies();
    std::string port_file = dir / "faulty.port";
    fs::remove(port_file);
    fs::remove(log_);
    std::string script = std::string(QFLASH_TESTS_DIR) + "/http/faulty_server.py";
    std::vector<std::string> argv = {"python3",     script,    "--root", root,
                                     "--port-file", port_file, "--log",  log_};
    argv.insert(argv.end(), flags.begin(), flags.end());
    proc_ = std::make_unique<ChildProcess>(argv);
    port_ = port_from_file(*proc_, port_file, "faulty_server.py");
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + path;
  }
  std::string log() const { return slurp(log_); }
  // Request lines of the log that end with "-> outcome".
  int count(const std::string& outcome) const {
    std::istringstream in(log());
    int n = 0;
    for (std::string line; std::getline(in, line);)
      if (line.ends_with("-> " + outcome)) ++n;
    return n;
  }
  int requests() const {
    std::istringstream in(log());
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }
  // The byte ranges asked for, in order ("A-B").
  std::vector<std::string> ranges() const {
    std::istringstream in(log());
    std::vector<std::string> r;
    for (std::string line; std::getline(in, line);) {
      size_t at = line.find("range=bytes=") + 12;
      r.push_back(line.substr(at, line.find(' ', at) - at));
    }
    return r;
  }

 private:
  std::string log_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> proc_;
};

// tests/http/bad_proxy.py, a forward proxy for --proxy; `flags` as the
// script takes them (--mode full-200|wrong-range|foreign, ...).
class BadProxy {
 public:
  BadProxy(const ScratchDir& dir, std::vector<std::string> flags)
      : log_(dir / "proxy.log") {
    std::string port_file = dir / "proxy.port";
    fs::remove(port_file);
    fs::remove(log_);
    std::string script = std::string(QFLASH_TESTS_DIR) + "/http/bad_proxy.py";
    std::vector<std::string> argv = {"python3", script, "--port-file", port_file, "--log", log_};
    argv.insert(argv.end(), flags.begin(), flags.end());
    proc_ = std::make_unique<ChildProcess>(argv);
    port_ = port_from_file(*proc_, port_file, "bad_proxy.py");
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return slurp(log_); }

 private:
  std::string log_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> proc_;
};

}  // namespace qflash::test
