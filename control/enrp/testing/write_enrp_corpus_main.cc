// Writes seed inputs for enrp_fuzzer (its record format: peer, milliseconds,
// length, message): conversations a registrar has with its peers, so that
// mutations start from messages that decode and reach deep states.
//
// Usage: write_enrp_corpus DIR

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/codec.h"
#include "protocol/pool_element.h"
#include "protocol/pool_element_codec.h"

namespace {

using rspd::protocol::EnrpType;
using rspd::protocol::Message;

Message Enrp(EnrpType type, uint32_t sender, uint8_t flags = 0) {
  Message m;
  m.protocol = rspd::protocol::Protocol::kEnrp;
  m.type = static_cast<uint8_t>(type);
  m.flags = flags;
  m.sender_id = sender;
  m.receiver_id = 1;
  return m;
}

rspd::protocol::PoolElement Pe(uint32_t id, uint32_t home) {
  rspd::protocol::PoolElement pe;
  pe.id = id;
  pe.home = home;
  pe.registration_life = 30;
  pe.user.type = rspd::protocol::ParamType::kSctpTransport;
  pe.user.port = 7;
  pe.user.addresses.push_back(*rspd::protocol::IpAddress::Parse("10.0.0.1"));
  pe.asap.port = 5000;
  pe.asap.udp_port = 40000;
  pe.asap.addresses.push_back(*rspd::protocol::IpAddress::Parse("10.0.0.1"));
  return pe;
}

void Add(std::vector<uint8_t>* out, uint8_t peer, uint8_t millis, const Message& m) {
  const std::vector<uint8_t> bytes = rspd::protocol::EncodeMessageToVector(m);
  out->push_back(peer);
  out->push_back(millis);
  out->push_back(static_cast<uint8_t>(bytes.size() >> 8));
  out->push_back(static_cast<uint8_t>(bytes.size()));
  out->insert(out->end(), bytes.begin(), bytes.end());
}

Message Update(uint32_t sender, rspd::protocol::UpdateAction action, const std::string& pool,
               const rspd::protocol::PoolElement& pe) {
  Message m = Enrp(EnrpType::kHandleUpdate, sender);
  m.update_action = action;
  m.has_pool_handle = true;
  m.pool_handle = pool;
  m.has_pool_element = true;
  m.pool_element = rspd::protocol::ViewOf(pe);
  m.pool_element.asap_udp_port = pe.asap.udp_port;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: write_enrp_corpus DIR\n");
    return 2;
  }
  using rspd::protocol::UpdateAction;
  std::vector<std::vector<uint8_t>> seeds;
  const std::string pool = "echo";
  const rspd::protocol::PoolElement a = Pe(100, 2), b = Pe(101, 2), c = Pe(200, 3);
  {  // a mentor: presence, a paged table, updates, then silence and a takeover
    std::vector<uint8_t> s;
    Message presence = Enrp(EnrpType::kPresence, 2, rspd::protocol::kFlagReplyRequired);
    presence.has_checksum = true;
    presence.checksum = 0xffff;
    Add(&s, 0, 1, presence);
    Message table = Enrp(EnrpType::kHandleTableResponse, 2, rspd::protocol::kFlagMoreToSend);
    const rspd::protocol::PoolElementView views[] = {rspd::protocol::ViewOf(a),
                                                     rspd::protocol::ViewOf(b)};
    rspd::protocol::PoolEntry entry;
    entry.pool_handle = pool;
    entry.elements = rspd::protocol::ParamList<rspd::protocol::PoolElementView>(views);
    table.pool_entries =
        rspd::protocol::ParamList<rspd::protocol::PoolEntry>(absl::MakeConstSpan(&entry, 1));
    Add(&s, 0, 1, table);
    table.flags = 0;
    Add(&s, 0, 1, table);
    Add(&s, 1, 1, Update(3, UpdateAction::kAddPe, pool, c));
    Add(&s, 0, 1, Update(2, UpdateAction::kDelPe, pool, b));
    Add(&s, 0, 250, Enrp(EnrpType::kListRequest, 2));
    Message ack = Enrp(EnrpType::kInitTakeoverAck, 3);
    ack.target_id = 2;
    Add(&s, 1, 250, ack);
    seeds.push_back(s);
  }
  {  // a peer that takes another over, and one that asks for our table
    std::vector<uint8_t> s;
    Add(&s, 1, 1, Update(3, UpdateAction::kAddPe, pool, c));
    Add(&s, 2, 1, Enrp(EnrpType::kHandleTableRequest, 4));
    Add(&s, 2, 1, Enrp(EnrpType::kHandleTableRequest, 4, rspd::protocol::kFlagOwnChildrenOnly));
    Message init = Enrp(EnrpType::kInitTakeover, 4);
    init.target_id = 3;
    Add(&s, 2, 1, init);
    Message done = Enrp(EnrpType::kTakeoverServer, 4);
    done.target_id = 3;
    Add(&s, 2, 1, done);
    Add(&s, 3, 1, Enrp(EnrpType::kHandleTableRequest, 0));
    seeds.push_back(s);
  }
  {  // a peer marked inactive by another's INIT_TAKEOVER names itself taken
     // over (ASan once found the peer's entry used after its removal here)
    std::vector<uint8_t> s;
    Add(&s, 0, 1, Enrp(EnrpType::kPresence, 2));
    Message init = Enrp(EnrpType::kInitTakeover, 3);
    init.target_id = 2;
    Add(&s, 1, 1, init);
    Message self = Enrp(EnrpType::kTakeoverServer, 2);
    self.target_id = 2;
    Add(&s, 0, 1, self);
    Message list = Enrp(EnrpType::kListResponse, 3);
    Add(&s, 1, 1, list);
    seeds.push_back(s);
  }
  {  // an RSPLIB peer: no UDP port parameter (lifetimes in milliseconds),
     // arbitration the other way round (it yields back with an ACK), no
     // TAKEOVER_SERVER; and a tool asking for the peer list
    std::vector<uint8_t> s;
    Message presence = Enrp(EnrpType::kPresence, 5);
    presence.has_server_information = true;
    presence.server_information.server_id = 5;
    const rspd::protocol::IpAddress address = *rspd::protocol::IpAddress::Parse("10.0.0.5");
    presence.server_information.transport.port = 9901;
    presence.server_information.transport.addresses =
        rspd::protocol::ParamList<rspd::protocol::IpAddress>(absl::MakeConstSpan(&address, 1));
    Add(&s, 0, 1, presence);
    rspd::protocol::PoolElement d = Pe(500, 5);
    d.registration_life = 90000;
    Add(&s, 0, 1, Update(5, UpdateAction::kAddPe, pool, d));
    Add(&s, 1, 1, Update(3, UpdateAction::kAddPe, pool, c));
    Message init = Enrp(EnrpType::kInitTakeover, 5);
    init.target_id = 3;
    Add(&s, 0, 250, init);
    Message ack = Enrp(EnrpType::kInitTakeoverAck, 5);
    ack.target_id = 3;
    Add(&s, 0, 1, ack);
    Add(&s, 2, 1, Enrp(EnrpType::kListRequest, 0));
    Add(&s, 0, 250, Enrp(EnrpType::kHandleTableRequest, 5));
    seeds.push_back(s);
  }
  for (size_t i = 0; i < seeds.size(); ++i) {
    const std::string path = absl::StrCat(argv[1], "/seed", i);
    FILE* f = fopen(path.c_str(), "wb");
    if (f == nullptr) return 1;
    fwrite(seeds[i].data(), 1, seeds[i].size(), f);
    fclose(f);
  }
  return 0;
}
