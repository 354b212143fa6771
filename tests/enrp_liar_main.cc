// A peer that lies, for the ENRP hostile test: it talks ENRP (RFC 5353) to a
// registrar as server --liar_id and sends what no honest registrar would:
// junk, messages with the registrar's own server ID, updates for PEs it does
// not own or that break a pool's policy, takeovers of the registrar itself,
// and a flood of updates. It prints one line per step with what came back;
// the test checks the registrar's state and counters.
//
// Usage: enrp_liar --registrar_udp_port=P --registrar_id=N [--flood=20000]

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "client/sctp_association.h"
#include "protocol/codec.h"
#include "protocol/pool_element.h"
#include "protocol/pool_element_codec.h"

ABSL_FLAG(uint16_t, registrar_udp_port, 9899, "the registrar's SCTP-over-UDP port (127.0.0.1)");
ABSL_FLAG(uint32_t, registrar_id, 0, "the registrar's server ID");
ABSL_FLAG(uint32_t, liar_id, 0x1ea5, "the server ID this peer claims");
ABSL_FLAG(int, flood, 20000, "HANDLE_UPDATEs in the flood");

namespace {

using rspd::protocol::EnrpType;
using rspd::protocol::Message;

Message Enrp(EnrpType type, uint32_t sender) {
  Message m;
  m.protocol = rspd::protocol::Protocol::kEnrp;
  m.type = static_cast<uint8_t>(type);
  m.sender_id = sender;
  return m;
}

rspd::protocol::PoolElement Pe(uint32_t id, uint32_t home, rspd::protocol::PolicyType policy) {
  rspd::protocol::PoolElement pe;
  pe.id = id;
  pe.home = home;
  pe.registration_life = 30;
  pe.user.type = rspd::protocol::ParamType::kSctpTransport;
  pe.user.port = 7;
  pe.user.addresses.push_back(*rspd::protocol::IpAddress::Parse("10.9.9.9"));
  pe.policy.type = policy;
  pe.policy.weight = 1;
  return pe;
}

std::vector<uint8_t> Update(uint32_t sender, rspd::protocol::UpdateAction action,
                            const std::string& pool, const rspd::protocol::PoolElement& pe) {
  Message m = Enrp(EnrpType::kHandleUpdate, sender);
  m.update_action = action;
  m.has_pool_handle = true;
  m.pool_handle = pool;
  m.has_pool_element = true;
  m.pool_element = rspd::protocol::ViewOf(pe);
  return rspd::protocol::EncodeMessageToVector(m);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using rspd::protocol::PolicyType;
  using rspd::protocol::UpdateAction;
  const uint32_t me = absl::GetFlag(FLAGS_liar_id);
  const uint32_t them = absl::GetFlag(FLAGS_registrar_id);
  auto assoc = rspd::client::SctpAssociation::Connect("127.0.0.1", rspd::protocol::kEnrpPort,
                                                      absl::GetFlag(FLAGS_registrar_udp_port),
                                                      absl::Seconds(5));
  if (!assoc.ok()) {
    fprintf(stderr, "enrp_liar: %s\n", std::string(assoc.status().message()).c_str());
    return 1;
  }
  auto send = [&](const std::vector<uint8_t>& bytes) {
    return (*assoc)->Send(rspd::protocol::kEnrpPpid, bytes).ok();
  };
  // What came back within a moment: "TYPE TYPE ...".
  auto answers = [&](absl::Duration wait) {
    std::string seen;
    while (true) {
      auto r = (*assoc)->Receive(wait);
      if (!r.ok()) return seen;
      Message m;
      rspd::protocol::DecodeError e;
      if (rspd::protocol::DecodeMessage(rspd::protocol::Protocol::kEnrp, r->data, &m, &e)) {
        absl::StrAppend(&seen, seen.empty() ? "" : " ",
                        rspd::protocol::MessageTypeName(rspd::protocol::Protocol::kEnrp, m.type));
      }
      wait = absl::Milliseconds(300);
    }
  };
  // Introduce ourselves (a real peer would).
  send(rspd::protocol::EncodeMessageToVector(Enrp(EnrpType::kPresence, me)));
  printf("hello: %s\n", answers(absl::Seconds(2)).c_str());

  // 1. Junk: too short, a length past the end, an unknown type with the
  // report bits, a PRESENCE with a truncated parameter.
  send({0x01});
  send({0x01, 0x00, 0x00, 0x40, 0, 0, 0, 1, 0, 0, 0, 0});
  send({0xff, 0x00, 0x00, 0x0c, 0, 0, 0x1e, 0xa5, 0, 0, 0, 0});
  send({0x01, 0x00, 0x00, 0x14, 0, 0, 0x1e, 0xa5, 0, 0, 0, 0, 0x00, 0x0a, 0x00, 0x20, 0, 0, 0, 0});
  printf("junk: %s\n", answers(absl::Seconds(1)).c_str());

  // 2. Our messages with the registrar's own server ID.
  send(Update(them, UpdateAction::kAddPe, "stolen", Pe(0xbad, them, PolicyType::kRoundRobin)));
  send(rspd::protocol::EncodeMessageToVector(Enrp(EnrpType::kPresence, them)));

  // 3. An update that names another home than ours: the registrar's own PE.
  send(Update(me, UpdateAction::kDelPe, "own", Pe(1, them, PolicyType::kRoundRobin)));
  send(Update(me, UpdateAction::kAddPe, "own", Pe(1, them, PolicyType::kRoundRobin)));

  // 4. A PE of ours in the registrar's round-robin pool, with another policy.
  send(Update(me, UpdateAction::kAddPe, "own", Pe(0x77, me, PolicyType::kWeightedRoundRobin)));

  // 5. Takeovers of the registrar itself.
  Message init = Enrp(EnrpType::kInitTakeover, me);
  init.target_id = them;
  send(rspd::protocol::EncodeMessageToVector(init));
  printf("init_takeover of the registrar: %s\n", answers(absl::Seconds(1)).c_str());
  Message takeover = Enrp(EnrpType::kTakeoverServer, me);
  takeover.target_id = them;
  send(rspd::protocol::EncodeMessageToVector(takeover));

  // 6. A flood of updates, for PEs that are ours.
  const int flood = absl::GetFlag(FLAGS_flood);
  int sent = 0;
  for (int i = 0; i < flood; ++i) {
    if (send(Update(me, UpdateAction::kAddPe, absl::StrCat("flood", i % 100),
                    Pe(0x10000 + static_cast<uint32_t>(i), me, PolicyType::kRoundRobin)))) {
      ++sent;
    }
  }
  printf("flood: %d sent\n", sent);
  printf("after: %s\n", answers(absl::Seconds(1)).c_str());
  return 0;
}
