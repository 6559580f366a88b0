#include "io/devices/monitor.h"

#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <fstream>

#include "io/devices/devices.h"

namespace qflash {

DeviceMonitor::DeviceMonitor() {
  Fd sock(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT));
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = 1;  // the kernel's own multicast group, not udev's (2)
  if (sock.valid() && ::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
    sock_ = std::move(sock);
}

std::vector<DeviceChange> DeviceMonitor::wait(int timeout_ms) {
  if (sock_.valid()) {
    pollfd p{sock_.get(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) > 0) {
      // The messages only wake us: the sizes below are the truth, and a burst
      // of events (a hub with many sticks) is one rescan.
      char buf[8192];
      while (::recv(sock_.get(), buf, sizeof buf, 0) > 0) {
      }
    }
  } else {
    ::poll(nullptr, 0, timeout_ms);
  }
  std::map<std::string, Medium> now;
  for (const auto& name : list_disks()) {
    Medium m;
    std::ifstream("/sys/class/block/" + name + "/size") >> m.size;
    // The disk sequence number changes with every new medium (and loop
    // file), also one swapped between two looks with the same size.
    std::ifstream("/sys/class/block/" + name + "/diskseq") >> m.diskseq;
    m.size *= 512;
    if (m.size) now[name] = m;
  }
  std::vector<DeviceChange> changes;
  for (const auto& [name, m] : media_) {
    auto it = now.find(name);
    // Another medium: removed, then inserted below.
    if (it == now.end() || it->second != m) changes.push_back({DeviceChange::Removed, name, 0});
  }
  for (const auto& [name, m] : now) {
    auto it = media_.find(name);
    if (it == media_.end() || it->second != m)
      changes.push_back({DeviceChange::Inserted, name, m.size});
  }
  media_ = std::move(now);
  return changes;
}

}  // namespace qflash
