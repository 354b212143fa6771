// A UDP relay that drops, duplicates and reorders, for the ENRP system test:
// the kernel here has no netem (tc qdisc netem), so the impairment is made in
// user space, on the real datagrams between two real registrars.
//
// It listens on 127.0.0.1:--listen_port. The first sender becomes the "near"
// side; everything it sends goes to 127.0.0.1:--target_port from the relay's
// second socket, and what comes back there goes to the near side from the
// listening port. Each datagram, either way, is dropped with --loss, sent
// twice with --duplicate, or held back --delay with --reorder (so that
// later ones overtake it).
//
// Usage: udp_chaos_relay --listen_port=P --target_port=T [--loss=0.1] ...

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <random>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

ABSL_FLAG(int, listen_port, 0, "UDP port the near side sends to");
ABSL_FLAG(int, target_port, 0, "UDP port on 127.0.0.1 the relay forwards to");
ABSL_FLAG(double, loss, 0.1, "share of datagrams dropped");
ABSL_FLAG(double, duplicate, 0.05, "share of datagrams sent twice");
ABSL_FLAG(double, reorder, 0.2, "share of datagrams held back --delay");
ABSL_FLAG(absl::Duration, delay, absl::Milliseconds(30), "how long a reordered datagram waits");

namespace {

int Bound(int port) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    perror("udp_chaos_relay: bind");
    _exit(1);
  }
  return fd;
}

struct Held {
  absl::Time due;
  int fd;
  sockaddr_in to;
  std::vector<uint8_t> bytes;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int near_fd = Bound(absl::GetFlag(FLAGS_listen_port));
  const int far_fd = Bound(0);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(absl::GetFlag(FLAGS_target_port)));
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sockaddr_in near_side{};
  bool near_known = false;
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> coin(0, 1);
  std::deque<Held> held;
  uint64_t relayed = 0, dropped = 0, duplicated = 0, reordered = 0;
  std::vector<uint8_t> buffer(65536);
  while (true) {
    pollfd fds[2] = {{near_fd, POLLIN, 0}, {far_fd, POLLIN, 0}};
    poll(fds, 2, 5);
    const absl::Time now = absl::Now();
    while (!held.empty() && held.front().due <= now) {
      const Held& h = held.front();
      sendto(h.fd, h.bytes.data(), h.bytes.size(), 0, reinterpret_cast<const sockaddr*>(&h.to),
             sizeof(h.to));
      held.pop_front();
    }
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      sockaddr_in from{};
      socklen_t from_length = sizeof(from);
      const ssize_t n = recvfrom(fds[i].fd, buffer.data(), buffer.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &from_length);
      if (n <= 0) continue;
      if (i == 0) {
        near_side = from;
        near_known = true;
      } else if (!near_known) {
        continue;
      }
      const int out_fd = i == 0 ? far_fd : near_fd;
      const sockaddr_in to = i == 0 ? target : near_side;
      ++relayed;
      if (coin(rng) < absl::GetFlag(FLAGS_loss)) {
        ++dropped;
        continue;
      }
      const int copies = coin(rng) < absl::GetFlag(FLAGS_duplicate) ? 2 : 1;
      duplicated += copies - 1;
      for (int c = 0; c < copies; ++c) {
        if (coin(rng) < absl::GetFlag(FLAGS_reorder)) {
          ++reordered;
          held.push_back({now + absl::GetFlag(FLAGS_delay), out_fd, to,
                          std::vector<uint8_t>(buffer.begin(), buffer.begin() + n)});
        } else {
          sendto(out_fd, buffer.data(), static_cast<size_t>(n), 0,
                 reinterpret_cast<const sockaddr*>(&to), sizeof(to));
        }
      }
      if (relayed % 50 == 0) {
        printf("relayed %lu dropped %lu duplicated %lu reordered %lu\n",
               static_cast<unsigned long>(relayed), static_cast<unsigned long>(dropped),
               static_cast<unsigned long>(duplicated), static_cast<unsigned long>(reordered));
        fflush(stdout);
      }
    }
  }
}
