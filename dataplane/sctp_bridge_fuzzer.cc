// libFuzzer target for the SCTP bridge: arbitrary bytes fed to usrsctp as
// SCTP packets from a handful of remote endpoints (the first input byte picks
// one), with timers advanced between inputs and checksums not verified. The
// bridge must never crash, and nothing it sends may be larger than a UDP datagram.

#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/sctp_bridge.h"

namespace {

rspd::dataplane::SctpBridge& Bridge();

// Answers like the registrar does, so that the send path runs too.
class EchoHandler final : public rspd::dataplane::SctpBridge::Handler {
 public:
  int Output(const rspd::dataplane::Endpoint&, absl::Span<const uint8_t> packet) override {
    if (packet.size() > 65507) abort();
    return 0;
  }
  void Deliver(const rspd::dataplane::SctpBridge::Delivery& d) override {
    std::vector<uint8_t> reply(d.data.begin(), d.data.end());
    Bridge().Send(d.peer, d.local_port, d.assoc, d.ppid, reply);
  }
  void OnAssociation(rspd::dataplane::SctpBridge::Peer*, uint16_t, uint16_t, uint32_t,
                     rspd::dataplane::SctpBridge::AssocEvent) override {}
};

rspd::dataplane::SctpBridge& Bridge() {
  static EchoHandler handler;
  static rspd::dataplane::SctpBridge* bridge = [] {
    rspd::dataplane::SctpBridge::Options options;
    options.listen_ports = {3863, 9901};
    options.max_peers = 8;
    // Mutated packets reach usrsctp's chunk parsing instead of being
    // dropped at the checksum.
    options.verify_checksums = false;
    return new rspd::dataplane::SctpBridge(options, &handler);
  }();
  return *bridge;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(0x7f000001);
  from.sin_port = htons(static_cast<uint16_t>(40000 + data[0] % 16));  // up to 16 remotes
  std::vector<uint8_t> packet(data + 1, data + size);
  Bridge().Input(rspd::dataplane::Endpoint::From(reinterpret_cast<sockaddr*>(&from), sizeof(from)),
                 packet);
  Bridge().AdvanceTimers(10);
  return 0;
}
