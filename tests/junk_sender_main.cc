// junk_sender: sends datagrams to a registrar's SCTP-over-UDP port (RFC 6951)
// from many distinct source endpoints, as an attacker (or a crowd of
// one-shot clients) would: each datagram leaves from its own local address
// and UDP port, walking 127.0.0.2:20000, 127.0.0.2:20001, ... and on to
// 127.0.0.3 when the port range is used up.
//
//   --kind=junk  random bytes, 16 to 200 of them (not SCTP: no valid CRC32c)
//   --kind=init  a well-formed SCTP INIT to the ASAP port (RFC 9260 §3.3.2)
//   --kind=ootb  a well-formed SCTP DATA chunk for an association that does
//                not exist (an "out of the blue" packet, RFC 9260 §8.4)
//
// Prints "sent N from M endpoints" when done.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/random/random.h"
#include "client/asap_session.h"
#include "dataplane/frames.h"
#include "dataplane/net/endpoint.h"

ABSL_FLAG(std::string, target, "127.0.0.1:9899", "HOST:UDP_PORT of the registrar");
ABSL_FLAG(std::string, kind, "junk", "junk | init | ootb");
ABSL_FLAG(int, count, 1000, "datagrams to send, each from a new source endpoint");
ABSL_FLAG(int, first_port, 20000, "first source port");
ABSL_FLAG(int, last_port, 60000, "last source port, then the next 127.0.0.x address");
ABSL_FLAG(uint16_t, sctp_port, 3863, "destination SCTP port of init and ootb packets");
ABSL_FLAG(uint64_t, seed, 1, "random seed");

namespace {

void Put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void Put32(std::vector<uint8_t>& b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}

// An SCTP packet with a common header (RFC 9260 §3.1) and a valid CRC32c
// (stored as computed, Appendix A).
std::vector<uint8_t> Sctp(uint16_t src_port, uint16_t dst_port, uint32_t vtag,
                          const std::vector<uint8_t>& chunks) {
  std::vector<uint8_t> p;
  Put16(p, src_port);
  Put16(p, dst_port);
  Put32(p, vtag);
  Put32(p, 0);
  p.insert(p.end(), chunks.begin(), chunks.end());
  const uint32_t crc = rspd::dataplane::Crc32c(p);
  memcpy(&p[8], &crc, 4);
  return p;
}

std::vector<uint8_t> Datagram(const std::string& kind, absl::BitGen& gen, uint16_t src_port) {
  const uint16_t dst = absl::GetFlag(FLAGS_sctp_port);
  std::vector<uint8_t> chunk;
  if (kind == "init") {
    chunk.push_back(1);  // INIT
    chunk.push_back(0);
    Put16(chunk, 20);
    Put32(chunk, absl::Uniform<uint32_t>(absl::IntervalClosed, gen, 1, UINT32_MAX));  // tag
    Put32(chunk, 65536);                                                              // a_rwnd
    Put16(chunk, 10);                                                                 // OS
    Put16(chunk, 10);                                                                 // MIS
    Put32(chunk, absl::Uniform<uint32_t>(gen));                                       // TSN
    return Sctp(src_port, dst, 0, chunk);
  }
  if (kind == "ootb") {
    chunk.push_back(0);     // DATA
    chunk.push_back(0x03);  // B and E
    Put16(chunk, 20);
    Put32(chunk, absl::Uniform<uint32_t>(gen));  // TSN
    Put16(chunk, 0);
    Put16(chunk, 0);
    Put32(chunk, 11);  // ASAP
    Put32(chunk, 0x05000004);
    return Sctp(src_port, dst, absl::Uniform<uint32_t>(gen), chunk);
  }
  std::vector<uint8_t> junk(absl::Uniform<size_t>(absl::IntervalClosed, gen, 16, 200));
  for (uint8_t& b : junk) b = absl::Uniform<uint8_t>(gen);
  return junk;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto target = rspd::client::ParseRegistrarAddress(absl::GetFlag(FLAGS_target));
  const std::string kind = absl::GetFlag(FLAGS_kind);
  if (!target.ok() || (kind != "junk" && kind != "init" && kind != "ootb")) {
    fprintf(stderr, "junk_sender: bad --target or --kind\n");
    return 2;
  }
  const std::optional<rspd::dataplane::Endpoint> to =
      rspd::dataplane::Endpoint::Parse(target->host, target->udp_port);
  if (!to || to->family() != AF_INET) {
    fprintf(stderr, "junk_sender: --target must be IPv4\n");
    return 2;
  }
  absl::BitGen gen;
  const int first = absl::GetFlag(FLAGS_first_port);
  const int last = absl::GetFlag(FLAGS_last_port);
  uint32_t address = 0x7f000002;  // 127.0.0.2
  int port = first;
  int sent = 0;
  int endpoints = 0;
  for (int i = 0; i < absl::GetFlag(FLAGS_count); ++i) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      perror("junk_sender: socket");
      return 1;
    }
    sockaddr_in from{};
    from.sin_family = AF_INET;
    bool bound = false;
    while (!bound) {
      from.sin_addr.s_addr = htonl(address);
      from.sin_port = htons(static_cast<uint16_t>(port));
      bound = bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) == 0;
      if (++port > last) {
        port = first;
        ++address;
      }
    }
    ++endpoints;
    const std::vector<uint8_t> d = Datagram(kind, gen, static_cast<uint16_t>(port));
    if (sendto(fd, d.data(), d.size(), 0, to->as_sockaddr(), to->length) ==
        static_cast<ssize_t>(d.size())) {
      ++sent;
    }
    close(fd);
  }
  printf("sent %d from %d endpoints\n", sent, endpoints);
  return 0;
}
