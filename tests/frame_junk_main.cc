// frame_junk: sends hostile Ethernet frames out of an interface (an
// AF_PACKET socket, root), for tests of the DPDK packet path's L2/L3
// (dataplane/net_stack.h). Each frame is one of: random bytes to the target
// MAC, SCTP over UDP with a bad CRC32c, IPv4 headers that lie about their
// length, bad IPv4 header checksums, an ARP storm from made-up senders,
// unknown EtherTypes, unknown IP protocols, IPv4 and IPv6 fragments, ICMP
// echoes with bad checksums, and truncated frames.
// Prints how many of each kind it sent.
//
// Usage: frame_junk --iface=veth0 --target_mac=02:00:00:00:00:01
//          --source_ip=10.0.0.2 --target_ip=10.0.0.1 --source_ip6=fd00::2
//          --target_ip6=fd00::1 --count=20000

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"

ABSL_FLAG(std::string, iface, "", "interface to send on");
ABSL_FLAG(std::string, target_mac, "", "the target's MAC, aa:bb:cc:dd:ee:ff");
ABSL_FLAG(std::string, source_ip, "", "our IPv4 address");
ABSL_FLAG(std::string, target_ip, "", "the target's IPv4 address");
ABSL_FLAG(std::string, source_ip6, "", "our IPv6 address");
ABSL_FLAG(std::string, target_ip6, "", "the target's IPv6 address");
ABSL_FLAG(int, count, 10000, "frames to send");
ABSL_FLAG(int, pause_every, 0,
          "after this many frames, a 1 ms pause (0: none): a tap device drops what its reader "
          "has not taken when its queue of 1,000 frames is full, and a busy host may not run the "
          "reader in time");

namespace {

using Frame = std::vector<uint8_t>;

uint16_t Sum(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (; n > 1; p += 2, n -= 2) acc += uint32_t{p[0]} << 8 | p[1];
  if (n) acc += uint32_t{p[0]} << 8;
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}
void Put16(Frame& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

struct Junk {
  uint8_t mac[6];
  uint8_t target_mac[6];
  uint8_t source[4];
  uint8_t target[4];
  uint8_t source6[16];
  uint8_t target6[16];
  std::mt19937 rng{1};

  Frame Ethernet(uint16_t type, const uint8_t* dst = nullptr) {
    Frame f(14);
    memcpy(f.data(), dst ? dst : target_mac, 6);
    memcpy(f.data() + 6, mac, 6);
    Put16(f, 12, type);
    return f;
  }
  // IPv4 to the target with a valid header checksum and `payload`.
  Frame Ipv4(uint8_t protocol, const Frame& payload, uint16_t fragment = 0x4000) {
    Frame f = Ethernet(0x0800);
    const size_t ip = f.size();
    f.resize(ip + 20);
    f[ip] = 0x45;
    Put16(f, ip + 2, static_cast<uint16_t>(20 + payload.size()));
    Put16(f, ip + 6, fragment);
    f[ip + 8] = 64;
    f[ip + 9] = protocol;
    memcpy(&f[ip + 12], source, 4);
    memcpy(&f[ip + 16], target, 4);
    Put16(f, ip + 10, Sum(&f[ip], 20));
    f.insert(f.end(), payload.begin(), payload.end());
    return f;
  }
  Frame Random(size_t min, size_t max) {
    Frame f(min + rng() % (max - min + 1));
    for (uint8_t& b : f) b = static_cast<uint8_t>(rng());
    return f;
  }
  Frame Udp9899(const Frame& payload) {
    Frame u(8);
    Put16(u, 0, 40000);
    Put16(u, 2, 9899);
    Put16(u, 4, static_cast<uint16_t>(8 + payload.size()));
    u.insert(u.end(), payload.begin(), payload.end());
    return u;
  }

  Frame Make(int kind) {
    switch (kind) {
      case 0: {  // random bytes after our Ethernet header
        Frame f = Ethernet(static_cast<uint16_t>(rng()));
        Frame r = Random(0, 1400);
        f.insert(f.end(), r.begin(), r.end());
        return f;
      }
      case 1:  // SCTP over UDP with random contents: a bad CRC32c
        return Ipv4(17, Udp9899(Random(12, 400)));
      case 2: {  // an IPv4 total length past the frame
        Frame f = Ipv4(17, Udp9899(Random(12, 100)));
        Put16(f, 16, 1400);
        f[24] = f[25] = 0;
        Put16(f, 24, Sum(&f[14], 20));
        return f;
      }
      case 3: {  // a bad IPv4 header checksum
        Frame f = Ipv4(17, Udp9899(Random(12, 100)));
        f[25] ^= 0x5a;
        return f;
      }
      case 4: {  // ARP storm: made-up senders ask for the target
        static const uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        Frame f = Ethernet(0x0806, kBroadcast);
        const uint8_t arp[8] = {0, 1, 8, 0, 6, 4, 0, 1};
        f.insert(f.end(), arp, arp + 8);
        uint8_t sender_mac[6] = {0x02, 0x66, 0, 0, 0, 0};
        const uint32_t r = rng();
        memcpy(sender_mac + 2, &r, 4);
        f.insert(f.end(), sender_mac, sender_mac + 6);
        // From a subnet of their own: the test's hosts must not learn them.
        const uint8_t sender_ip[4] = {10, 76, static_cast<uint8_t>(r >> 8),
                                      static_cast<uint8_t>(r)};
        f.insert(f.end(), sender_ip, sender_ip + 4);
        f.insert(f.end(), 6, 0);
        f.insert(f.end(), target, target + 4);
        return f;
      }
      case 5: {  // an unknown EtherType
        Frame f = Ethernet(0x88b5);
        Frame r = Random(46, 200);
        f.insert(f.end(), r.begin(), r.end());
        return f;
      }
      case 6:  // an unknown IP protocol
        return Ipv4(253, Random(8, 200));
      case 7:  // an IPv4 fragment (More Fragments)
        return Ipv4(17, Udp9899(Random(12, 200)), 0x2000);
      case 8: {  // an IPv6 packet with a fragment header
        Frame f = Ethernet(0x86dd);
        Frame ip(40);
        ip[0] = 0x60;
        Put16(ip, 4, 16);
        ip[6] = 44;
        ip[7] = 64;
        memcpy(&ip[8], source6, 16);
        memcpy(&ip[24], target6, 16);
        f.insert(f.end(), ip.begin(), ip.end());
        Frame r = Random(16, 16);
        r[0] = 17;
        f.insert(f.end(), r.begin(), r.end());
        return f;
      }
      case 9: {  // an ICMP echo with a bad checksum
        Frame icmp = {8, 0, 0, 0, 1, 2, 3, 4};
        Put16(icmp, 2, static_cast<uint16_t>(Sum(icmp.data(), icmp.size()) ^ 0x1111));
        return Ipv4(1, icmp);
      }
      default: {  // truncated: a valid frame cut anywhere
        Frame f = Ipv4(17, Udp9899(Random(12, 100)));
        f.resize(rng() % f.size());
        return f;
      }
    }
  }
};

bool ParseMac(const std::string& text, uint8_t* mac) {
  unsigned b[6];
  if (sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
    return false;
  }
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(b[i]);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string iface = absl::GetFlag(FLAGS_iface);
  Junk junk;
  if (!ParseMac(absl::GetFlag(FLAGS_target_mac), junk.target_mac) ||
      inet_pton(AF_INET, absl::GetFlag(FLAGS_source_ip).c_str(), junk.source) != 1 ||
      inet_pton(AF_INET, absl::GetFlag(FLAGS_target_ip).c_str(), junk.target) != 1 ||
      inet_pton(AF_INET6, absl::GetFlag(FLAGS_source_ip6).c_str(), junk.source6) != 1 ||
      inet_pton(AF_INET6, absl::GetFlag(FLAGS_target_ip6).c_str(), junk.target6) != 1) {
    fprintf(stderr,
            "frame_junk: --target_mac, --source_ip, --target_ip, --source_ip6 and --target_ip6 "
            "are needed\n");
    return 2;
  }
  const int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  const unsigned index = if_nametoindex(iface.c_str());
  if (fd < 0 || index == 0) {
    perror("frame_junk: AF_PACKET socket or --iface");
    return 1;
  }
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(index);
  to.sll_halen = 6;
  const uint8_t local[6] = {0x02, 0x66, 0, 0, 0, 1};
  memcpy(junk.mac, local, 6);
  constexpr int kKinds = 11;
  long sent[kKinds] = {};
  for (int i = 0; i < absl::GetFlag(FLAGS_count); ++i) {
    const int kind = i % kKinds;
    Frame f = junk.Make(kind);
    if (f.empty()) continue;
    memcpy(to.sll_addr, f.data(), 6);
    if (sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) > 0) {
      ++sent[kind];
    }
    const int pause_every = absl::GetFlag(FLAGS_pause_every);
    if (pause_every > 0 && (i + 1) % pause_every == 0) usleep(1000);
  }
  long total = 0;
  for (int k = 0; k < kKinds; ++k) {
    printf("kind %d: %ld\n", k, sent[k]);
    total += sent[k];
  }
  printf("sent %ld\n", total);
  close(fd);
  return 0;
}
