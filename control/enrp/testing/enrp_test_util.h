// Test helpers for the ENRP server and its thread: a sender that keeps what
// is sent, and the PEs and HANDLE_UPDATEs the tests feed them.
//
// Example:
//   testing::Recorder out;                       // the server's senders
//   const protocol::PoolElement pe = testing::Pe(100, /*home=*/2);
//   protocol::Message m = testing::AddPeUpdate("pool", pe);  // views into pe
//   out.Of(protocol::EnrpType::kPresence, 10002);  // what went to UDP port 10002

#pragma once

#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "dataplane/transport.h"
#include "protocol/codec.h"
#include "protocol/pool_element.h"
#include "protocol/pool_element_codec.h"

namespace rspd::control::testing {

// Keeps what is sent: (to the peer at UDP port, 0 for a reply on an
// association; bytes), and the thread each was sent from.
class Recorder final : public dataplane::MessageSender, public dataplane::AddressedSender {
 public:
  bool Send(const dataplane::AssocRef&, uint16_t, uint32_t, absl::Span<const uint8_t> m) override {
    Record(0, m);
    return true;
  }
  bool SendTo(const protocol::IpAddress&, uint16_t udp_port, uint16_t, uint16_t, uint32_t,
              absl::Span<const uint8_t> m) override {
    Record(udp_port, m);
    return true;
  }
  // The ENRP messages of `type` sent to the peer at `udp_port` (0: any);
  // their views point into `sent`.
  std::vector<protocol::Message> Of(protocol::EnrpType type, uint16_t udp_port = 0) const {
    std::vector<protocol::Message> out;
    for (const auto& [port, bytes] : sent) {
      protocol::Message m;
      protocol::DecodeError e;
      if ((udp_port == 0 || port == udp_port) &&
          protocol::DecodeMessage(protocol::Protocol::kEnrp, bytes, &m, &e) &&
          m.type == static_cast<uint8_t>(type)) {
        out.push_back(m);
      }
    }
    return out;
  }
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> sent;
  std::vector<std::thread::id> senders;

 private:
  void Record(uint16_t port, absl::Span<const uint8_t> m) {
    sent.emplace_back(port, std::vector<uint8_t>(m.begin(), m.end()));
    senders.push_back(std::this_thread::get_id());
  }
};

// A PE at 10.0.0.1 (user transport SCTP port 7, ASAP port 4000).
inline protocol::PoolElement Pe(uint32_t id, uint32_t home, int32_t registration_life = 30) {
  protocol::PoolElement pe;
  pe.id = id;
  pe.home = home;
  pe.registration_life = registration_life;
  pe.user.type = protocol::ParamType::kSctpTransport;
  pe.user.port = 7;
  pe.user.addresses.push_back(*protocol::IpAddress::Parse("10.0.0.1"));
  pe.asap.port = 4000;
  pe.asap.addresses.push_back(*protocol::IpAddress::Parse("10.0.0.1"));
  return pe;
}

// How the I/O thread hands over ENRP message `bytes` from peer `id`: from
// 127.0.0.1, UDP port 10000 + id, on association (`peer`, id); its data
// points into `bytes`.
inline dataplane::InboundMessage FromPeer(uint32_t id, const void* peer,
                                          absl::Span<const uint8_t> bytes) {
  dataplane::InboundMessage in;
  in.from = {peer, id};
  in.local_port = protocol::kEnrpPort;
  in.remote_port = protocol::kEnrpPort;
  in.remote_ip = *protocol::IpAddress::Parse("127.0.0.1");
  in.remote_udp_port = static_cast<uint16_t>(10000 + id);
  in.ppid = protocol::kEnrpPpid;
  in.data = bytes;
  return in;
}

// HANDLE_UPDATE ADD_PE of `pe` in `pool` (RFC 5353 §2.4); its views point
// into `pool` and `pe`, which must outlive it.
inline protocol::Message AddPeUpdate(absl::string_view pool, const protocol::PoolElement& pe) {
  protocol::Message m;
  m.protocol = protocol::Protocol::kEnrp;
  m.type = static_cast<uint8_t>(protocol::EnrpType::kHandleUpdate);
  m.update_action = protocol::UpdateAction::kAddPe;
  m.has_pool_handle = true;
  m.pool_handle = pool;
  m.has_pool_element = true;
  m.pool_element = protocol::ViewOf(pe);
  return m;
}

}  // namespace rspd::control::testing
