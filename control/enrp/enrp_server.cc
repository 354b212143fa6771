// File: control/enrp/enrp_server.cc

#include "control/enrp/enrp_server.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_format.h"
#include "handlespace/pe_checksum.h"
#include "handlespace/shard_of.h"
#include "protocol/address.h"
#include "protocol/pool_element_codec.h"

namespace rspd::control {

using handlespace::ShardCommand;
using protocol::EnrpType;
using protocol::Message;

namespace {

// What a command's answer completes.
enum Purpose : int {
  kUpdate,        // a peer's HANDLE_UPDATE
  kImport,        // a PE of a HANDLE_TABLE_RESPONSE we asked for
  kTakeOverOurs,  // our takeover: the target's PEs become ours
  kTakeOverPeer,  // a peer's TAKEOVER_SERVER
  kMark,          // a resync's mark
  kSweep,         // a resync's sweep
  kTableChunk,    // a chunk for a peer's (or tool's) download
  kAdoptChunk,    // PEs of ours to adopt
  kAudit,         // the owners' checksums
};

struct JobInfo {
  int purpose = kUpdate;
  uint64_t key = 0;  // kTableChunk: the table session
};
struct UpdateJob : handlespace::PeerUpdateCommand, JobInfo {};
struct OwnerJob : handlespace::OwnerCommand, JobInfo {};
struct ChunkJob : handlespace::ChunkCommand, JobInfo {};
struct AuditJob : handlespace::AuditCommand, JobInfo {};

// Table sessions at once (RFC 5353 §3.2.3: a mentor with too many rejects).
// Peers and operators' tools have budgets of their own, so that neither can
// lock the other out.
constexpr size_t kMaxTableSessions = 16;
constexpr size_t kMaxToolSessions = 4;
constexpr uint64_t kToolSession = uint64_t{1} << 63;  // the key bit of a tool's session
// A HANDLE_TABLE_RESPONSE stops before the next PE could pass the 16-bit
// message length (RFC 5354 §4): a Pool Element with two full address lists
// of IPv6 addresses and a longest pool handle stays under this.
constexpr size_t kLargestEntry = 1024;
// Registration Life as a peer writes it: RFC 5354 §3.10 says seconds;
// RSPLIB 3.4.4, whose PRESENCE lacks rspd's UDP port parameter, writes and
// reads milliseconds (docs/decisions.md). -1 (infinite) is the same in both.
int32_t LifeToPeer(int32_t seconds, bool millis) {
  if (seconds < 0) return -1;
  if (!millis) return seconds;
  return static_cast<int32_t>(std::min<int64_t>(int64_t{seconds} * 1000, INT32_MAX));
}
int32_t LifeFromPeer(int32_t value, bool millis) {
  if (value < 0) return -1;
  if (!millis) return value;
  return value / 1000 + (value % 1000 != 0 ? 1 : 0);  // never shorter than it was
}

// Peers at most: servers heard on the multicast group beyond it are not
// called (a flood of forged PRESENCEs cannot grow the table).
constexpr size_t kMaxPeers = 1024;
// How long a starting registrar waits after a mentor rejected it (§3.2.2.2
// "wait a few seconds and retry").
constexpr int64_t kMentorRetryMillis = 1000;

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

}  // namespace

EnrpServer::EnrpServer(const RegistrarConfig& config, Host* host, dataplane::MessageSender* sender,
                       dataplane::AddressedSender* addressed)
    : config_(config), host_(host), sender_(sender), addressed_(addressed) {
  // Our Server Information (RFC 5354 §3.11) names the bound address; a
  // wildcard bind names loopback (peers reach us at the source of our
  // packets, which is what they use).
  const std::optional<protocol::IpAddress> bound = protocol::IpAddress::Parse(config.bind_address);
  const bool wildcard =
      !bound || *bound == protocol::IpAddress() || (bound->is_v4() && bound->v4() == 0);
  own_address_ = !wildcard
                     ? *bound
                     : *protocol::IpAddress::Parse(bound && !bound->is_v4() ? "::1" : "127.0.0.1");
}

// ---- peers and sending ----------------------------------------------------------

EnrpServer::Peer* EnrpServer::FindPeer(RegistrarId id) {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second;
}

EnrpServer::Peer* EnrpServer::Learn(const InboundMessage& in, RegistrarId id, Tick now) {
  Peer& peer = peers_[id];
  peer.id = id;
  peer.ip = in.remote_ip;
  peer.udp_port = in.remote_udp_port;
  peer.sctp_port = in.remote_port;
  peer.state = PeerState::kActive;
  peer.last_heard = now;
  EnrpServerStats::Bump(stats_.peers_added);
  Log(now,
      absl::StrFormat("peer 0x%08x at %s", id, protocol::JoinHostPort(peer.ip, peer.udp_port)));
  return &peer;
}

void EnrpServer::RemovePeer(RegistrarId id) {
  peers_.erase(id);
  table_sessions_.erase(id);
  // A peer gone is no ACK to wait for: the takeover completes at the next
  // timer if it was the last.
  if (takeover_acks_pending_.erase(id) != 0 && takeover_acks_pending_.empty() &&
      takeover_target_ != 0) {
    takeover_deadline_ = 0;
  }
}

Message EnrpServer::Header(EnrpType type, RegistrarId receiver, uint8_t flags) const {
  Message m;
  m.protocol = protocol::Protocol::kEnrp;
  m.type = static_cast<uint8_t>(type);
  m.flags = flags;
  m.sender_id = config_.server_id;
  m.receiver_id = receiver;
  return m;
}

bool EnrpServer::SendRaw(const Peer& peer, absl::Span<const uint8_t> bytes) {
  if (!bytes.empty() && addressed_->SendTo(peer.ip, peer.udp_port, config_.enrp_port,
                                           peer.sctp_port, protocol::kEnrpPpid, bytes)) {
    EnrpServerStats::Bump(stats_.enrp_messages_sent);
    message_counts_.Sent(bytes[0]);  // RFC 5353 §2: the type is the first byte
    return true;
  }
  EnrpServerStats::Bump(stats_.enrp_send_failures);
  return false;
}

void EnrpServer::OnSendRefused(RegistrarId peer, Tick now) {
  EnrpServerStats::Bump(stats_.enrp_send_failures);
  if (download_.active && download_.from == peer && !download_.last_chunk) FailDownload(now);
  table_sessions_.erase(peer);
}

bool EnrpServer::SendToPeer(const Peer& peer, const Message& m) {
  return SendRaw(peer, protocol::EncodeMessageToVector(m));
}

void EnrpServer::SendPresence(Peer& peer, bool reply_required, Tick /*now*/) {
  // RFC 5353 §2.1: our PE checksum (§3.6.1) and Server Information.
  Message m = Header(EnrpType::kPresence, peer.id,
                     reply_required ? protocol::kFlagReplyRequired : uint8_t{0});
  m.has_checksum = true;
  m.checksum = own_checksum_;
  m.has_server_information = true;
  m.server_information = OwnServerInformation();
  if (SendToPeer(peer, m)) EnrpServerStats::Bump(stats_.presences_sent);
}

protocol::ServerInformation EnrpServer::OwnServerInformation() const {
  protocol::ServerInformation s;
  s.server_id = config_.server_id;
  s.transport.type = protocol::ParamType::kSctpTransport;
  s.transport.port = config_.enrp_port;
  s.transport.addresses =
      protocol::ParamList<protocol::IpAddress>(absl::MakeConstSpan(&own_address_, 1));
  s.udp_port = own_udp_port_;
  return s;
}

void EnrpServer::OnMulticastPresence(const protocol::IpAddress& source, const Message& m,
                                     Tick now) {
  if (m.type != static_cast<uint8_t>(EnrpType::kPresence) || m.sender_id == 0 ||
      m.sender_id == config_.server_id) {
    return;  // ours looped back, or not a server's
  }
  EnrpServerStats::Bump(stats_.multicast_presences_heard);
  if (Peer* peer = FindPeer(m.sender_id)) {
    // §3.4: news of the peer; its association is what we call it on.
    peer->last_heard = now;
    peer->heard = true;
    if (peer->state == PeerState::kProbed) MarkAlive(*peer);
    return;
  }
  if (m.sender_id == takeover_target_ || peers_.size() >= kMaxPeers) return;
  // A new server: called at the datagram's source, on the UDP port its
  // Server Information names (rspd's extension; RFC 6951's 9899 without).
  Peer peer;
  peer.id = m.sender_id;
  peer.ip = source;
  peer.udp_port = m.has_server_information && m.server_information.udp_port != 0
                      ? m.server_information.udp_port
                      : uint16_t{9899};
  peer.sctp_port = m.has_server_information && m.server_information.transport.port != 0
                       ? m.server_information.transport.port
                       : config_.enrp_port;
  peer.lifetimes_in_millis = m.has_server_information && m.server_information.udp_port == 0;
  peer.last_heard = now;
  Peer& added = peers_.emplace(peer.id, peer).first->second;
  EnrpServerStats::Bump(stats_.peers_heard_multicast);
  Log(now, absl::StrFormat("server 0x%08x heard on the multicast group at %s", peer.id,
                           protocol::JoinHostPort(peer.ip, peer.udp_port)));
  SendPresence(added, /*reply_required=*/true, now);
}

void EnrpServer::SendPresenceToAll(Tick now) {
  for (auto& [id, peer] : peers_) {
    if (peer.state != PeerState::kInactive && peer.state != PeerState::kTakingOver) {
      SendPresence(peer, /*reply_required=*/false, now);
    }
  }
}

void EnrpServer::SendTakeoverMessage(EnrpType type, RegistrarId target, Peer& to) {
  Message m = Header(type, to.id);
  m.target_id = target;
  SendToPeer(to, m);
}

void EnrpServer::Start(uint16_t udp_port, Tick now) {
  own_udp_port_ = udp_port;
  mentor_deadline_ = now + static_cast<Tick>(Millis(config_.mentor_discovery_timeout));
  // RFC 5353 §3.2.2.1: no peer configured, no mentor: alone, serving at once.
  ready_ = config_.enrp_peers.empty();
  next_presence_ = now + static_cast<Tick>(Millis(config_.peer_heartbeat_cycle));
  // The static peers learn of us (§3.4.1) and answer with their PRESENCE,
  // which makes them peers here; the first becomes the mentor.
  Peer call;
  call.sctp_port = config_.enrp_port;
  for (const RegistrarConfig::PeerAddress& address : config_.enrp_peers) {
    std::optional<protocol::IpAddress> ip = protocol::IpAddress::Parse(address.host);
    if (!ip) continue;  // Validate() refused it already
    call.ip = *ip;
    call.udp_port = address.udp_port;
    SendPresence(call, /*reply_required=*/true, now);
  }
}

void EnrpServer::AddStaticPeers(const std::vector<RegistrarConfig::PeerAddress>& peers, Tick now) {
  Peer call;
  call.sctp_port = config_.enrp_port;
  for (const RegistrarConfig::PeerAddress& address : peers) {
    const bool listed = std::any_of(
        config_.enrp_peers.begin(), config_.enrp_peers.end(),
        [&](const auto& p) { return p.host == address.host && p.udp_port == address.udp_port; });
    std::optional<protocol::IpAddress> ip = protocol::IpAddress::Parse(address.host);
    if (listed || !ip) continue;
    config_.enrp_peers.push_back(address);
    // §3.4.1: it learns of us and answers with its PRESENCE, as at the start.
    call.ip = *ip;
    call.udp_port = address.udp_port;
    SendPresence(call, /*reply_required=*/true, now);
    Log(now, absl::StrCat("static peer added: ",
                          protocol::JoinHostPort(address.host, address.udp_port)));
  }
}

// ---- messages -------------------------------------------------------------------

void EnrpServer::OnUndecodable(const InboundMessage& in, const protocol::DecodeError& error) {
  EnrpServerStats::Bump(stats_.enrp_malformed);
  if (!error.report) return;
  // RFC 5353 §3.7 (RFC 5354 §3, §4): an ENRP_ERROR naming what was wrong.
  uint8_t buffer[2048];
  const size_t n = protocol::EncodeErrorReport(protocol::Protocol::kEnrp, error, config_.server_id,
                                               0, absl::MakeSpan(buffer));
  if (n != 0 &&
      sender_->Send(in.from, in.local_port, protocol::kEnrpPpid, absl::MakeConstSpan(buffer, n))) {
    EnrpServerStats::Bump(stats_.enrp_messages_sent);
    message_counts_.Sent(buffer[0]);
  }
}

void EnrpServer::OnMessage(const InboundMessage& in, const Message& m, Tick now) {
  EnrpServerStats::Bump(stats_.enrp_messages_received);
  message_counts_.Received(m.type);
  const auto type = static_cast<EnrpType>(m.type);
  if (m.sender_id == 0) {
    // An operator's tool: it may read, nothing else (docs/decisions.md).
    if (type == EnrpType::kListRequest) {
      EnrpServerStats::Bump(stats_.enrp_from_tools);
      HandleListRequest(in, nullptr, m, now);
    } else if (type == EnrpType::kHandleTableRequest) {
      EnrpServerStats::Bump(stats_.enrp_from_tools);
      HandleTableRequest(in, nullptr, m, now);
    } else {
      EnrpServerStats::Bump(stats_.enrp_refused_from_tools);
    }
    return;
  }
  if (m.sender_id == config_.server_id) {
    // Another server with our ID (RFC 5353 §2.1 makes IDs unique with high
    // probability only): nothing it says is taken.
    EnrpServerStats::Bump(stats_.enrp_claiming_our_id);
    return;
  }
  Peer* peer = FindPeer(m.sender_id);
  if (peer == nullptr) {
    if (peers_.size() >= kMaxPeers) {
      // A flood of made-up server IDs cannot grow the table (and with it
      // every update and takeover).
      EnrpServerStats::Bump(stats_.peers_refused);
      return;
    }
    // §3.4.1: a message of any type from an unknown server adds it; it is
    // asked for its PRESENCE (unless this is one).
    peer = Learn(in, m.sender_id, now);
    if (type != EnrpType::kPresence) SendPresence(*peer, /*reply_required=*/true, now);
  } else if (peer->ip != in.remote_ip || peer->udp_port != in.remote_udp_port ||
             peer->sctp_port != in.remote_port) {
    // The peer speaks from another endpoint (it restarted elsewhere, or two
    // servers share an ID): we answer where it speaks from now, and a
    // download it had from us starts over.
    EnrpServerStats::Bump(stats_.peers_moved);
    if (now >= peer->moved_logged + 10000) {
      peer->moved_logged = now;
      Log(now, absl::StrFormat("peer 0x%08x now speaks from %s (was %s; restarted, or a second "
                               "server with its ID)",
                               peer->id, protocol::JoinHostPort(in.remote_ip, in.remote_udp_port),
                               protocol::JoinHostPort(peer->ip, peer->udp_port)));
    }
    peer->ip = in.remote_ip;
    peer->udp_port = in.remote_udp_port;
    peer->sctp_port = in.remote_port;
    table_sessions_.erase(peer->id);
  }
  // §3.4: any message is news of the peer.
  peer->last_heard = now;
  peer->heard = true;
  if (peer->state == PeerState::kProbed) MarkAlive(*peer);
  switch (type) {
    case EnrpType::kPresence:
      HandlePresence(*peer, m, now);
      return;
    case EnrpType::kHandleTableRequest:
      HandleTableRequest(in, peer, m, now);
      return;
    case EnrpType::kHandleTableResponse:
      HandleTableResponse(*peer, m, now);
      return;
    case EnrpType::kHandleUpdate:
      HandleUpdate(*peer, m, now);
      return;
    case EnrpType::kListRequest:
      HandleListRequest(in, peer, m, now);
      return;
    case EnrpType::kListResponse:
      HandleListResponse(*peer, m, now);
      return;
    case EnrpType::kInitTakeover:
      HandleInitTakeover(*peer, m, now);
      return;
    case EnrpType::kInitTakeoverAck:
      HandleInitTakeoverAck(*peer, m, now);
      return;
    case EnrpType::kTakeoverServer:
      HandleTakeoverServer(*peer, m, now);
      return;
    case EnrpType::kError:
      EnrpServerStats::Bump(stats_.enrp_errors_received);
      return;
  }
}

void EnrpServer::HandlePresence(Peer& peer, const Message& m, Tick now) {
  EnrpServerStats::Bump(stats_.presences_received);
  if (peer.state == PeerState::kTakingOver) {
    // §3.5.1: the target speaks: the takeover is off.
    AbortTakeover();
  }
  MarkAlive(peer);
  if (m.has_server_information) {
    // rspd's PRESENCE names its UDP port; RSPLIB's does not, and RSPLIB
    // counts Registration Life in milliseconds (docs/decisions.md).
    peer.lifetimes_in_millis = m.server_information.udp_port == 0;
    peer.introduced = true;
  }
  if (m.has_checksum) {
    peer.has_checksum = true;
    peer.checksum_fresh = true;
    peer.checksum = m.checksum;
  }
  if (m.flags & protocol::kFlagReplyRequired) {
    SendPresence(peer, /*reply_required=*/false, now);
    // A registrar asks so as it starts (or when it thinks us dead): a
    // download it had from us does not go on where it stopped.
    table_sessions_.erase(peer.id);
  }
  if (peer.introduced && peer.table_request_held) {
    peer.table_request_held = false;
    ServeTableRequest(InboundMessage(), &peer, peer.held_flags, now);
  }
  // §3.2.2.1: the first peer that answers while we start is the mentor.
  if (!ready_ && !download_.active && now >= mentor_retry_at_) {
    StartDownload(peer.id, /*resync=*/false, now);
  }
}

void EnrpServer::MarkAlive(Peer& peer) {
  peer.state = PeerState::kActive;
  peer.taken_over_by = 0;
  peer.yielded_to = 0;
  peer.initiator_yielded = false;
}

void EnrpServer::HandleListRequest(const InboundMessage& in, Peer* peer, const Message&, Tick now) {
  // RFC 5353 §2.5-2.6, §3.2.2.2: every server we know that is up, and
  // ourselves; R=1 while we are still initializing. An operator's tool gets
  // every peer, each with our view of it (rspd's Peer Status parameter).
  const bool tool = peer == nullptr;
  std::vector<protocol::IpAddress> addresses;
  std::vector<protocol::ServerInformation> servers;
  Message reply = Header(EnrpType::kListResponse, peer != nullptr ? peer->id : 0,
                         ready_ ? uint8_t{0} : protocol::kFlagListReject);
  if (ready_) {
    addresses.reserve(peers_.size() + 1);
    servers.reserve(peers_.size() + 1);
    const auto add = [&](RegistrarId id, const protocol::IpAddress& ip, uint16_t sctp_port,
                         uint16_t udp_port) -> protocol::ServerInformation& {
      addresses.push_back(ip);
      protocol::ServerInformation s;
      s.server_id = id;
      s.transport.type = protocol::ParamType::kSctpTransport;
      s.transport.port = sctp_port;
      s.udp_port = udp_port;
      servers.push_back(s);
      return servers.back();
    };
    add(config_.server_id, own_address_, config_.enrp_port, own_udp_port_);
    for (const auto& [id, p] : peers_) {
      if (tool) {
        protocol::ServerInformation& s = add(id, p.ip, p.sctp_port, p.udp_port);
        s.has_peer_status = true;
        s.peer_state = p.state;
        // UINT32_MAX: never heard (only listed by a mentor).
        s.last_heard_ms =
            p.heard ? static_cast<uint32_t>(std::min<Tick>(now - p.last_heard, UINT32_MAX - 1))
                    : UINT32_MAX;
      } else if (p.state == PeerState::kActive || p.state == PeerState::kProbed) {
        add(id, p.ip, p.sctp_port, p.udp_port);
      }
    }
    for (size_t i = 0; i < servers.size(); ++i) {
      servers[i].transport.addresses =
          protocol::ParamList<protocol::IpAddress>(absl::MakeConstSpan(&addresses[i], 1));
    }
    reply.servers = protocol::ParamList<protocol::ServerInformation>(absl::MakeConstSpan(servers));
  }
  const std::vector<uint8_t> bytes = protocol::EncodeMessageToVector(reply);
  const bool sent = peer != nullptr
                        ? SendRaw(*peer, bytes)
                        : sender_->Send(in.from, in.local_port, protocol::kEnrpPpid, bytes);
  if (peer == nullptr) {
    EnrpServerStats::Bump(sent ? stats_.enrp_messages_sent : stats_.enrp_send_failures);
    if (sent) message_counts_.Sent(bytes[0]);
  }
}

void EnrpServer::HandleListResponse(const Peer& from, const Message& m, Tick now) {
  if (m.flags & protocol::kFlagListReject) return;  // §3.2.2.2: it is initializing
  // Copied: adding peers below may move `from` in the table.
  const protocol::IpAddress mentor_ip = from.ip;
  // §3.2.2.2: the peers the mentor knows become ours; each is called (a
  // reply-required PRESENCE) at the address and ports it lists. A server
  // whose Server Information names no UDP port (no rspd extension) is
  // called at RFC 6951 §5.1's 9899; one without an address, where the
  // mentor sees it from.
  for (const protocol::ServerInformation& server : m.servers) {
    if (server.server_id == 0 || server.server_id == config_.server_id ||
        peers_.contains(server.server_id) || server.server_id == takeover_target_) {
      continue;
    }
    if (peers_.size() >= kMaxPeers) {
      EnrpServerStats::Bump(stats_.peers_refused);
      break;
    }
    Peer peer;
    peer.id = server.server_id;
    peer.ip = mentor_ip;
    for (const protocol::IpAddress& a : server.transport.addresses) {
      peer.ip = a;
      break;
    }
    peer.udp_port = server.udp_port != 0 ? server.udp_port : uint16_t{9899};
    peer.sctp_port = server.transport.port != 0 ? server.transport.port : config_.enrp_port;
    peer.last_heard = now;
    peer.heard = false;
    Peer& added = peers_.emplace(peer.id, peer).first->second;
    EnrpServerStats::Bump(stats_.peers_listed);
    SendPresence(added, /*reply_required=*/true, now);
  }
}

// ---- updates (§3.3) -----------------------------------------------------------

void EnrpServer::Announce(protocol::UpdateAction action, absl::string_view handle,
                          const protocol::PoolElement& pe) {
  if (peers_.empty()) return;
  // Group-cast: Receiving Server ID 0 (§2.4), encoded once.
  Message m = Header(EnrpType::kHandleUpdate, 0);
  m.update_action = action;
  m.has_pool_handle = true;
  m.pool_handle = handle;
  m.has_pool_element = true;
  m.pool_element = protocol::ViewOf(pe);
  m.pool_element.asap_udp_port = pe.asap.udp_port;
  std::vector<uint8_t> bytes[2];  // Registration Life in seconds, in milliseconds
  for (const auto& [id, peer] : peers_) {
    if (peer.state == PeerState::kTakingOver) continue;
    std::vector<uint8_t>& encoded = bytes[peer.lifetimes_in_millis ? 1 : 0];
    if (encoded.empty()) {
      m.pool_element.registration_life = LifeToPeer(pe.registration_life, peer.lifetimes_in_millis);
      encoded = protocol::EncodeMessageToVector(m);
    }
    if (SendRaw(peer, encoded)) EnrpServerStats::Bump(stats_.updates_sent);
  }
}

void EnrpServer::OnOwnedPeRegistered(absl::string_view handle, const protocol::PoolElement& pe) {
  Announce(protocol::UpdateAction::kAddPe, handle, pe);
}

void EnrpServer::OnOwnedPeRemoved(absl::string_view handle, const protocol::PoolElement& pe) {
  Announce(protocol::UpdateAction::kDelPe, handle, pe);
}

void EnrpServer::HandleUpdate(Peer& peer, const Message& m, Tick) {
  EnrpServerStats::Bump(stats_.updates_received);
  protocol::PoolElement pe;
  // A peer announces its own PEs only (§3.3: Home ENRP Server ID = the
  // sender): one that names another home, or us, is not taken.
  if (!m.has_pool_handle || !m.has_pool_element ||
      protocol::PoolElementFromView(m.pool_element, &pe) != protocol::kNoError ||
      pe.home != peer.id || m.pool_handle.empty() ||
      m.pool_handle.size() > protocol::kMaxPoolHandleSize) {
    EnrpServerStats::Bump(stats_.updates_refused);
    return;
  }
  pe.registration_life = LifeFromPeer(pe.registration_life, peer.lifetimes_in_millis);
  auto* job = new UpdateJob();
  job->purpose = kUpdate;
  job->action = m.update_action;
  job->handle.assign(m.pool_handle.data(), m.pool_handle.size());
  job->pe = pe;
  Submit(handlespace::ShardOf(job->handle, host_->shard_count()), job);
}

// ---- handle table: serving (§3.2.3) ------------------------------------------------

void EnrpServer::HandleTableRequest(const InboundMessage& in, Peer* peer, const Message& m,
                                    Tick now) {
  if (peer != nullptr && !peer->introduced && ready_) {
    // We write its PEs' lifetimes in its unit, which its PRESENCE tells
    // (asked for when we learned of it; RSPLIB asks for the table first):
    // the request waits for it, MAX-TIME-NO-RESPONSE at most.
    peer->table_request_held = true;
    peer->held_flags = m.flags;
    peer->held_since = now;
    return;
  }
  ServeTableRequest(in, peer, m.flags, now);
}

void EnrpServer::ServeTableRequest(const InboundMessage& in, Peer* peer, uint8_t flags, Tick now) {
  EnrpServerStats::Bump(stats_.table_requests_received);
  // A tool's session is its association's.
  const uint64_t key =
      peer != nullptr ? peer->id : kToolSession | absl::HashOf(in.from.peer, in.from.assoc);
  const bool own_only = (flags & protocol::kFlagOwnChildrenOnly) != 0;
  auto it = table_sessions_.find(key);
  if (!ready_ && peer != nullptr && !own_only) {
    // It starts too (it asks for a whole table): the tie-break of two
    // starting registrars (HandleTableResponse) may apply to it.
    starting_peers_.insert(peer->id);
  }
  const auto full = [this](bool tool) {
    const size_t tools = static_cast<size_t>(
        std::count_if(table_sessions_.begin(), table_sessions_.end(),
                      [](const auto& entry) { return (entry.first & kToolSession) != 0; }));
    return tool ? tools >= kMaxToolSessions : table_sessions_.size() - tools >= kMaxTableSessions;
  };
  if (!ready_ || (it == table_sessions_.end() && full(peer == nullptr))) {
    // §3.2.2.2: a mentor still initializing, or with too many downloads,
    // rejects (R bit, no entries).
    EnrpServerStats::Bump(stats_.table_requests_rejected);
    const Message reply = Header(EnrpType::kHandleTableResponse, peer != nullptr ? peer->id : 0,
                                 protocol::kFlagTableReject);
    const std::vector<uint8_t> bytes = protocol::EncodeMessageToVector(reply);
    if (peer != nullptr) {
      SendRaw(*peer, bytes);
    } else {
      sender_->Send(in.from, in.local_port, protocol::kEnrpPpid, bytes);
    }
    return;
  }
  if (it == table_sessions_.end()) it = table_sessions_.emplace(key, TableSession()).first;
  TableSession& session = it->second;
  // Another download: the other W flag, or a request after the requester
  // must have given up on the last one (§3.2.3: its timer is
  // MAX-TIME-NO-RESPONSE): it starts from the beginning.
  if (session.own_only != own_only ||
      (!session.busy &&
       now > session.last + static_cast<Tick>(Millis(config_.max_time_no_response)))) {
    session = TableSession();
  }
  session.own_only = own_only;
  session.last = now;
  if (peer == nullptr) session.tool = in.from;
  if (!session.ready.empty()) {
    // Read ahead while the last response travelled: it goes at once, and
    // the one after it is read now.
    const std::vector<uint8_t> bytes = std::move(session.ready);
    const bool more = session.ready_more;
    session.ready.clear();
    if (!SendChunk(key, session, bytes) || !more) {
      table_sessions_.erase(it);
      return;
    }
    ReadChunk(key, session);
    return;
  }
  session.waiting = true;
  if (!session.busy) ReadChunk(key, session);
}

void EnrpServer::ReadChunk(uint64_t key, TableSession& session) {
  auto* job = new ChunkJob();
  job->purpose = kTableChunk;
  job->key = key;
  job->cursor = session.cursor;
  job->max = static_cast<size_t>(config_.max_elements_per_table_response);
  job->owner_filter = session.own_only ? config_.server_id : 0;
  session.busy = true;
  Submit(session.shard, job);
}

void EnrpServer::AnswerChunk(uint64_t key, handlespace::ChunkCommand& chunk, Tick now) {
  auto it = table_sessions_.find(key);
  if (it == table_sessions_.end()) return;  // the peer went meanwhile
  TableSession& session = it->second;
  session.busy = false;
  session.last = now;
  const uint32_t shards = host_->shard_count();
  if (chunk.elements.empty() && chunk.next == handlespace::kIterationDone &&
      session.shard + 1 < shards) {
    // This shard is done: on to the next one before answering.
    ++session.shard;
    session.cursor = 0;
    ReadChunk(key, session);
    return;
  }
  std::vector<uint8_t> buffer(protocol::kMaxMessageSize);
  protocol::Writer w(absl::MakeSpan(buffer));
  protocol::BeginMessage(w, static_cast<uint8_t>(EnrpType::kHandleTableResponse), 0);
  const RegistrarId receiver = (key & kToolSession) ? 0 : static_cast<RegistrarId>(key);
  const Peer* to = receiver != 0 ? FindPeer(receiver) : nullptr;
  const bool millis = to != nullptr && to->lifetimes_in_millis;
  w.U32(config_.server_id);
  w.U32(receiver);
  size_t included = 0;
  absl::string_view last_handle;
  for (; included < chunk.elements.size(); ++included) {
    if (w.size() + kLargestEntry > protocol::kMaxMessageSize) break;
    const handlespace::ElementEntry& e = chunk.elements[included];
    // §2.3: each pool entry is its Pool Handle, then its PEs.
    if (included == 0 || e.handle != last_handle) {
      protocol::EncodePoolHandle(w, e.handle);
      last_handle = e.handle;
    }
    if (millis) {
      protocol::PoolElement pe = e.pe;
      pe.registration_life = LifeToPeer(pe.registration_life, /*millis=*/true);
      protocol::EncodePoolElement(w, pe, /*with_udp_port=*/true);
    } else {
      protocol::EncodePoolElement(w, e.pe, /*with_udp_port=*/true);
    }
  }
  bool more;
  if (included < chunk.elements.size()) {
    session.cursor = chunk.slots[included];
    more = true;
  } else if (chunk.next != handlespace::kIterationDone) {
    session.cursor = chunk.next;
    more = true;
  } else {
    ++session.shard;
    session.cursor = 0;
    more = session.shard < shards;
  }
  const size_t n = protocol::FinishMessage(w);
  if (n == 0) {
    table_sessions_.erase(it);
    return;
  }
  buffer[1] = more ? protocol::kFlagMoreToSend : 0;  // §2.3: M while more follow
  buffer.resize(n);
  EnrpServerStats::Bump(stats_.table_pes_sent, included);
  if (!session.waiting) {
    // Read ahead (§3.2.3 is one response per request): kept for the next.
    session.ready = std::move(buffer);
    session.ready_more = more;
    return;
  }
  session.waiting = false;
  if (!SendChunk(key, session, buffer) || !more) {
    table_sessions_.erase(it);
    return;
  }
  ReadChunk(key, session);  // the next chunk, read while this one travels
}

bool EnrpServer::SendChunk(uint64_t key, const TableSession& session,
                           absl::Span<const uint8_t> bytes) {
  const RegistrarId receiver = (key & kToolSession) ? 0 : static_cast<RegistrarId>(key);
  bool sent;
  if (receiver != 0) {
    Peer* peer = FindPeer(receiver);
    sent = peer != nullptr && SendRaw(*peer, bytes);
  } else {
    sent = sender_->Send(session.tool, config_.enrp_port, protocol::kEnrpPpid, bytes);
  }
  if (sent) EnrpServerStats::Bump(stats_.table_responses_sent);
  return sent;
}

// ---- handle table: downloading (§3.2.2, §3.6.3) -------------------------------------

void EnrpServer::StartDownload(RegistrarId from, bool resync, Tick now) {
  Peer* peer = FindPeer(from);
  if (peer == nullptr) return;
  download_ = Download();
  download_.active = true;
  download_.resync = resync;
  download_.from = from;
  // The whole download, however many chunks: 10 MAX-TIME-NO-RESPONSEs, at
  // least a minute (a million PEs take 2 s here).
  download_.give_up =
      now + static_cast<Tick>(std::max<int64_t>(60000, 10 * Millis(config_.max_time_no_response)));
  download_started_ = now;
  download_pes_ = 0;
  if (resync) {
    // §3.6.3 step 1: mark its PEs; the import unmarks what is still there.
    EnrpServerStats::Bump(stats_.resyncs);
    SubmitToAllShards(handlespace::OwnerCommand::Op::kMark, from, 0, handlespace::kNever, kMark);
  }
  RequestChunk(*peer, now);
  // §3.2.3 pages one response per request; a whole table goes faster with
  // two requests out: the mentor reads and sends one chunk while the other
  // travels and is imported. The request beyond the last chunk gets a
  // surplus answer, let go.
  if (!resync && download_.active) RequestChunk(*peer, now);
}

void EnrpServer::RequestChunk(Peer& peer, Tick now) {
  const Message m = Header(EnrpType::kHandleTableRequest, peer.id,
                           download_.resync ? protocol::kFlagOwnChildrenOnly : uint8_t{0});
  download_.deadline = now + static_cast<Tick>(Millis(config_.max_time_no_response));
  ++download_.outstanding;
  if (!SendToPeer(peer, m)) FailDownload(now);
}

void EnrpServer::EndDownload() {
  surplus_from_ = download_.from;
  surplus_ = download_.outstanding;
  download_ = Download();
}

void EnrpServer::HandleTableResponse(Peer& peer, const Message& m, Tick now) {
  if (!download_.active || download_.last_chunk || peer.id != download_.from) {
    if (peer.id == surplus_from_ && surplus_ > 0) {
      --surplus_;  // a request beyond the last chunk
      return;
    }
    EnrpServerStats::Bump(stats_.enrp_unexpected);
    return;
  }
  --download_.outstanding;
  if (m.flags & protocol::kFlagTableReject) {
    if (!download_.resync && peer.id < config_.server_id && starting_peers_.contains(peer.id)) {
      // Registrars that start together would reject each other until the
      // mentor discovery timeout: of two, the higher server ID serves at
      // once, and the other downloads from it (docs/decisions.md).
      EndDownload();
      ready_ = true;
      Log(now, absl::StrFormat("mentor 0x%08x is starting too: serving (the higher server ID)",
                               peer.id));
      return;
    }
    FailDownload(now);
    return;
  }
  // §3.2.3: the next chunk is asked for first, so that the mentor reads it
  // while this one is imported. A mentor that says "more" but sends nothing
  // (ours never does), or never ends, is given up on.
  const bool more = (m.flags & protocol::kFlagMoreToSend) != 0;
  if (more && m.pool_entries.empty()) {
    EnrpServerStats::Bump(stats_.downloads_abused);
    FailDownload(now);
    return;
  }
  if (download_pes_ > config_.max_pool_elements || now >= download_.give_up) {
    EnrpServerStats::Bump(stats_.downloads_abused);
    FailDownload(now);
    return;
  }
  if (more) RequestChunk(peer, now);
  const Tick adopted_expiry = now + static_cast<Tick>(Millis(config_.adopted_pe_timeout));
  for (const protocol::PoolEntry& entry : m.pool_entries) {
    if (entry.pool_handle.empty() || entry.pool_handle.size() > protocol::kMaxPoolHandleSize) {
      EnrpServerStats::Bump(stats_.updates_refused);
      continue;
    }
    for (const protocol::PoolElementView& view : entry.elements) {
      EnrpServerStats::Bump(stats_.table_pes_received);
      ++download_pes_;
      protocol::PoolElement pe;
      if (protocol::PoolElementFromView(view, &pe) != protocol::kNoError) {
        EnrpServerStats::Bump(stats_.updates_refused);
        continue;
      }
      if (pe.home == 0) pe.home = peer.id;
      pe.registration_life = LifeFromPeer(pe.registration_life, peer.lifetimes_in_millis);
      // A resync (W=1) takes the peer's own PEs only.
      if (download_.resync && pe.home != peer.id) {
        EnrpServerStats::Bump(stats_.updates_refused);
        continue;
      }
      auto* job = new UpdateJob();
      job->purpose = kImport;
      job->handle.assign(entry.pool_handle.data(), entry.pool_handle.size());
      job->pe = pe;
      // A peer's table names it home of PEs we own only after a takeover
      // of ours that we did not hear of (a partition): ours stay ours; the
      // PE settles it by where it registers next (docs/decisions.md).
      job->keep_home = config_.server_id;
      // Ours before a restart: kept, with a deadline, and adopted once the
      // download is complete.
      if (pe.home == config_.server_id) {
        job->expiry = adopted_expiry;
        download_.imported_own = true;
      }
      ++download_.imports_in_flight;
      Submit(handlespace::ShardOf(job->handle, host_->shard_count()), job);
    }
  }
  if (more || !download_.active) return;
  download_.last_chunk = true;
  if (download_.imports_in_flight == 0) FinishDownload(now);
}

void EnrpServer::FinishDownload(Tick now) {
  EnrpServerStats::Bump(stats_.downloads_completed);
  const Download done = download_;
  EndDownload();
  Log(now, absl::StrFormat("%s 0x%08x: %u PEs in %u ms",
                           done.resync ? "resync of" : "download from mentor", done.from,
                           download_pes_, now - download_started_));
  if (done.resync) {
    // §3.6.3 step 5: what the peer did not send is gone.
    SubmitToAllShards(handlespace::OwnerCommand::Op::kSweep, done.from, 0, handlespace::kNever,
                      kSweep);
  } else {
    ready_ = true;  // §3.2.2: serve once the handlespace is here
    // §3.2.2.2: and learn the peers the mentor knows.
    if (Peer* mentor = FindPeer(done.from))
      SendToPeer(*mentor, Header(EnrpType::kListRequest, done.from));
  }
  if (done.imported_own) adoption_ = Adoption{true, false, 0, 0};
  if (!resync_queue_.empty()) {
    const RegistrarId next = resync_queue_.front();
    resync_queue_.erase(resync_queue_.begin());
    StartDownload(next, /*resync=*/true, now);
  }
}

void EnrpServer::FailDownload(Tick now) {
  EnrpServerStats::Bump(stats_.downloads_failed);
  Log(now, absl::StrFormat("download from 0x%08x %s", download_.from,
                           now >= download_.deadline ? "timed out" : "rejected"));
  const Download failed = download_;
  EndDownload();
  // §3.2.2.2: another mentor, or this one again, a little later. A resync
  // is tried again when the next audit still disagrees.
  if (!failed.resync) mentor_retry_at_ = now + kMentorRetryMillis;
  if (failed.resync) {
    // Its marks stay until the next resync of that peer sweeps them.
    if (Peer* peer = FindPeer(failed.from)) peer->mismatches = 0;
  }
}

// ---- takeover (§3.5) -----------------------------------------------------------

void EnrpServer::StartTakeover(Peer& target, Tick now) {
  EnrpServerStats::Bump(stats_.takeovers_started);
  takeover_target_ = target.id;
  takeover_started_ = now;
  target.state = PeerState::kTakingOver;
  takeover_acks_pending_.clear();
  for (auto& [id, peer] : peers_) {
    if (id == target.id) continue;
    if (peer.state == PeerState::kActive || peer.state == PeerState::kProbed) {
      takeover_acks_pending_.insert(id);
    }
  }
  // §3.5.1: INIT_TAKEOVER to every peer, the target included.
  for (auto& [id, peer] : peers_) SendTakeoverMessage(EnrpType::kInitTakeover, target.id, peer);
  takeover_deadline_ = takeover_acks_pending_.empty()
                           ? now
                           : now + static_cast<Tick>(Millis(config_.takeover_expiry));
}

void EnrpServer::AbortTakeover() {
  EnrpServerStats::Bump(stats_.takeovers_aborted);
  Log(takeover_started_, absl::StrFormat("takeover of 0x%08x aborted", takeover_target_));
  if (Peer* target = FindPeer(takeover_target_)) {
    target->state = PeerState::kActive;
  }
  takeover_target_ = 0;
  takeover_acks_pending_.clear();
}

void EnrpServer::WinTakeover(Tick now) {
  const RegistrarId target = takeover_target_;
  takeover_target_ = 0;
  takeover_acks_pending_.clear();
  EnrpServerStats::Bump(stats_.takeovers_won);
  takeover_logged_ = target;
  takeover_pes_ = 0;
  Log(now, absl::StrFormat("takeover of 0x%08x won in %u ms", target, now - takeover_started_));
  RemovePeer(target);
  // §3.5.2: TAKEOVER_SERVER to the peers; the target's PEs become ours,
  // each until it answers our H-bit keep-alive and registers again.
  for (auto& [id, peer] : peers_) SendTakeoverMessage(EnrpType::kTakeoverServer, target, peer);
  takeover_answers_pending_ = host_->shard_count();
  SubmitToAllShards(handlespace::OwnerCommand::Op::kTakeOver, target, config_.server_id,
                    now + static_cast<Tick>(Millis(config_.adopted_pe_timeout)), kTakeOverOurs);
}

void EnrpServer::HandleInitTakeover(Peer& peer, const Message& m, Tick now) {
  const RegistrarId target = m.target_id;
  if (target == peer.id) {
    EnrpServerStats::Bump(stats_.enrp_unexpected);  // nobody takes itself over
    return;
  }
  if (target == config_.server_id) {
    // §3.5.1: we are alive: everyone hears it at once.
    SendPresenceToAll(now);
    return;
  }
  bool yielded = false;
  if (takeover_target_ == target) {
    // §3.5.1: two initiators: the higher server ID goes on.
    if (config_.server_id > peer.id) return;
    AbortTakeover();
    yielded = true;
  }
  if (Peer* t = FindPeer(target)) {
    t->state = PeerState::kInactive;
    // Only a server that introduced itself (a PRESENCE) is taken for the
    // winner: one made up for this message is not.
    if (peer.introduced) t->taken_over_by = std::max(t->taken_over_by, peer.id);
    if (yielded) t->yielded_to = peer.id;
    t->deadline = now + static_cast<Tick>(Millis(config_.takeover_expiry) +
                                          Millis(config_.max_time_no_response));
  }
  SendTakeoverMessage(EnrpType::kInitTakeoverAck, target, peer);
}

void EnrpServer::HandleInitTakeoverAck(Peer& peer, const Message& m, Tick now) {
  if (takeover_target_ != m.target_id) {
    Peer* target = FindPeer(m.target_id);
    if (target != nullptr && target->yielded_to == peer.id && target->yielded_to != 0) {
      // The initiator we yielded to yielded to us: RSPLIB 3.4.4 arbitrates
      // the other way round (the lower ID goes on, docs/decisions.md), so
      // both gave up. Nobody else takes the target over: we do, anew: now,
      // or, while another takeover runs, once the target's probe is over.
      target->initiator_yielded = true;
      if (takeover_target_ == 0 && target->state == PeerState::kInactive &&
          now - target->last_heard > static_cast<Tick>(Millis(config_.max_time_last_heard))) {
        EnrpServerStats::Bump(stats_.takeovers_resumed);
        Log(now, absl::StrFormat("0x%08x gave its takeover of 0x%08x up to us: taking it over",
                                 peer.id, target->id));
        StartTakeover(*target, now);
        takeover_acks_pending_.erase(peer.id);
        if (takeover_acks_pending_.empty()) WinTakeover(now);
      }
      return;
    }
  }
  if (takeover_target_ == 0 || m.target_id != takeover_target_) {
    EnrpServerStats::Bump(stats_.enrp_unexpected);
    return;
  }
  takeover_acks_pending_.erase(peer.id);
  if (takeover_acks_pending_.empty()) WinTakeover(now);
}

void EnrpServer::HandleTakeoverServer(Peer& peer, const Message& m, Tick now) {
  EnrpServerStats::Bump(stats_.takeovers_by_peers);
  const RegistrarId target = m.target_id;
  const RegistrarId sender = peer.id;  // `peer` goes if it names itself
  Log(now, absl::StrFormat("0x%08x took over 0x%08x", sender, target));
  if (target == sender) {
    EnrpServerStats::Bump(stats_.enrp_unexpected);  // nobody takes itself over
    return;
  }
  if (target == config_.server_id) {
    // We are alive; our PEs follow whoever they answer (their H bit).
    SendPresenceToAll(now);
    return;
  }
  if (const Peer* t = FindPeer(target);
      t != nullptr && t->state == PeerState::kActive &&
      now < t->last_heard + static_cast<Tick>(Millis(config_.max_time_last_heard))) {
    // We hear the target: it is not dead, whatever the sender saw (a
    // partition, or a lie). Its PEs stay its own here; if they follow the
    // sender's H bit, their registrations there move them (docs/decisions.md).
    EnrpServerStats::Bump(stats_.takeovers_refused_alive);
    return;
  }
  if (takeover_target_ == target) {
    takeover_target_ = 0;
    takeover_acks_pending_.clear();
  }
  // §3.5.2: the target's PEs are the sender's now.
  HandOver(target, sender);
}

void EnrpServer::HandOver(RegistrarId target, RegistrarId winner) {
  RemovePeer(target);
  SubmitToAllShards(handlespace::OwnerCommand::Op::kTakeOver, target, winner, handlespace::kNever,
                    kTakeOverPeer);
}

// ---- audit (§3.6) and timers -------------------------------------------------------

void EnrpServer::StartAudit(Tick now) {
  if (audit_answers_ != 0) {
    SendPresenceToAll(now);  // the last audit's checksum, not yet a new one
    return;
  }
  audit_sums_.clear();
  audit_answers_ = host_->shard_count();
  for (uint32_t k = 0; k < host_->shard_count(); ++k) {
    auto* job = new AuditJob();
    job->purpose = kAudit;
    Submit(k, job);
  }
}

void EnrpServer::FinishAudit(Tick now) {
  const auto checksum_of = [this](RegistrarId id, size_t* count) {
    auto it = audit_sums_.find(id);
    *count = it == audit_sums_.end() ? 0 : it->second.first;
    return handlespace::FinishChecksum(it == audit_sums_.end() ? 0 : it->second.second);
  };
  own_checksum_ = checksum_of(config_.server_id, &own_count_);
  for (auto& [id, peer] : peers_) {
    peer.our_checksum = checksum_of(id, &peer.owned);
    // Each PRESENCE's checksum is weighed once: a peer that announces less
    // often than we audit (RSPLIB) is not judged by a word older than the
    // updates it sent since.
    if (!peer.checksum_fresh || peer.state != PeerState::kActive) continue;
    peer.checksum_fresh = false;
    // §3.6.1: the peer's word against ours. Updates in flight make one
    // mismatch likely under churn; two PRESENCEs in a row resync (§3.6.3).
    if (peer.checksum == peer.our_checksum) {
      peer.mismatches = 0;
      continue;
    }
    EnrpServerStats::Bump(stats_.checksum_mismatches);
    if (++peer.mismatches < 2) continue;
    peer.mismatches = 0;
    if (download_.active) {
      if (std::find(resync_queue_.begin(), resync_queue_.end(), id) == resync_queue_.end()) {
        resync_queue_.push_back(id);
      }
    } else if (ready_) {
      StartDownload(id, /*resync=*/true, now);
    }
  }
  SendPresenceToAll(now);
  if (multicast_) {
    // Group-cast: Receiving Server ID 0 (RFC 5353 §2.1).
    Message m = Header(EnrpType::kPresence, 0);
    m.has_checksum = true;
    m.checksum = own_checksum_;
    m.has_server_information = true;
    m.server_information = OwnServerInformation();
    multicast_(protocol::EncodeMessageToVector(m));
    EnrpServerStats::Bump(stats_.multicast_presences_sent);
  }
}

void EnrpServer::ContinueAdoption() {
  if (!adoption_.active || adoption_.busy) return;
  // Only as fast as the ASAP server sends the keep-alives.
  const size_t chunk = static_cast<size_t>(config_.max_elements_per_table_response);
  if (host_->adoption_backlog() >= chunk) return;
  auto* job = new ChunkJob();
  job->purpose = kAdoptChunk;
  job->cursor = adoption_.cursor;
  job->max = chunk;
  job->owner_filter = config_.server_id;
  adoption_.busy = true;
  Submit(adoption_.shard, job);
}

void EnrpServer::OnTimer(Tick now) {
  if (download_.active && !download_.last_chunk && now >= download_.deadline) FailDownload(now);
  if (!ready_ && !download_.active && mentor_retry_at_ != 0 && now >= mentor_retry_at_) {
    // §3.2.2.2: a mentor rejected us (still initializing): again, with
    // whichever peer is up.
    mentor_retry_at_ = 0;
    for (const auto& [id, peer] : peers_) {
      if (peer.state == PeerState::kActive) {
        StartDownload(id, /*resync=*/false, now);
        break;
      }
    }
  }
  if (!ready_ && !download_.active && now >= mentor_deadline_) {
    ready_ = true;  // §3.2.2.1: no mentor answered: alone
    Log(now, "no mentor answered: serving alone");
  }
  if (now >= next_presence_) {
    next_presence_ = now + static_cast<Tick>(Millis(config_.peer_heartbeat_cycle));
    StartAudit(now);
    // Static peers we have not heard from yet are called again (they may
    // have started after us).
    Peer call;
    call.sctp_port = config_.enrp_port;
    for (const RegistrarConfig::PeerAddress& address : config_.enrp_peers) {
      std::optional<protocol::IpAddress> ip = protocol::IpAddress::Parse(address.host);
      if (!ip) continue;
      const bool known = std::any_of(peers_.begin(), peers_.end(), [&](const auto& entry) {
        return entry.second.ip == *ip && entry.second.udp_port == address.udp_port;
      });
      if (known) continue;
      call.ip = *ip;
      call.udp_port = address.udp_port;
      SendPresence(call, /*reply_required=*/true, now);
    }
  }
  // §3.4: a silent peer is asked; one that does not answer is dead.
  const Tick last_heard = static_cast<Tick>(Millis(config_.max_time_last_heard));
  const size_t unreachable = absl::erase_if(peers_, [now](const auto& entry) {
    return !entry.second.heard && entry.second.state == PeerState::kProbed &&
           now >= entry.second.deadline;
  });
  EnrpServerStats::Bump(stats_.peers_unreachable, unreachable);
  std::vector<std::pair<RegistrarId, RegistrarId>> handed_over;  // target, winner
  for (auto& [id, peer] : peers_) {
    switch (peer.state) {
      case PeerState::kActive:
        if (now - peer.last_heard > last_heard) {
          peer.state = PeerState::kProbed;
          peer.deadline = now + static_cast<Tick>(Millis(config_.max_time_no_response));
          SendPresence(peer, /*reply_required=*/true, now);
        }
        break;
      case PeerState::kProbed:
        break;  // below: one takeover at a time
      case PeerState::kInactive:
        // No TAKEOVER_SERVER came (docs/decisions.md): the target is asked
        // whether it lives (an INIT_TAKEOVER a liar sent us alone must not
        // give a live registrar's PEs away); below, once it has not
        // answered, its PEs go to the initiator, or to us.
        if (now >= peer.deadline) {
          peer.state = PeerState::kProbed;
          peer.deadline = now + static_cast<Tick>(Millis(config_.max_time_no_response));
          SendPresence(peer, /*reply_required=*/true, now);
        }
        break;
      case PeerState::kTakingOver:
        break;
    }
  }
  // A dead target another server took over, whose TAKEOVER_SERVER never
  // came: an initiator we still hear, which did not give its takeover up to
  // us, has the PEs (RSPLIB's TAKEOVER_SERVER may never leave it).
  for (auto& [id, peer] : peers_) {
    if (peer.state != PeerState::kProbed || now < peer.deadline || peer.taken_over_by == 0 ||
        peer.initiator_yielded) {
      continue;
    }
    const Peer* winner = FindPeer(peer.taken_over_by);
    if (winner != nullptr && winner->state == PeerState::kActive &&
        now - winner->last_heard <= last_heard) {
      handed_over.emplace_back(id, winner->id);
    }
  }
  // A table request whose sender never introduced itself is served after
  // MAX-TIME-NO-RESPONSE, its lifetimes in the RFC's seconds.
  std::vector<RegistrarId> unheld;
  for (auto& [id, peer] : peers_) {
    if (peer.table_request_held &&
        now - peer.held_since > static_cast<Tick>(Millis(config_.max_time_no_response))) {
      peer.table_request_held = false;
      unheld.push_back(id);
    }
  }
  for (RegistrarId id : unheld) {
    if (Peer* peer = FindPeer(id)) ServeTableRequest(InboundMessage(), peer, peer->held_flags, now);
  }
  for (const auto& [target, winner] : handed_over) {
    EnrpServerStats::Bump(stats_.takeovers_implied);
    Log(now, absl::StrFormat("0x%08x took over 0x%08x (its TAKEOVER_SERVER never came)", winner,
                             target));
    HandOver(target, winner);
  }
  // §3.4: the dead peer that owns the most PEs is taken over first (made-up
  // peers that own nothing cannot hold a real takeover back).
  if (takeover_target_ == 0) {
    Peer* dead = nullptr;
    for (auto& [id, peer] : peers_) {
      if (peer.state == PeerState::kProbed && now >= peer.deadline &&
          (dead == nullptr || peer.owned > dead->owned)) {
        dead = &peer;
      }
    }
    if (dead != nullptr) {
      EnrpServerStats::Bump(stats_.peers_dead);
      Log(now,
          absl::StrFormat("peer 0x%08x dead: no answer to a reply-required PRESENCE", dead->id));
      StartTakeover(*dead, now);
    }
  }
  // §3.5.1: every ACK, or the takeover expiry (docs/decisions.md): won. A
  // secure registrar's peers refuse a takeover their policy does not allow
  // by not answering, so there a missing ACK ends it (docs/security.md).
  if (takeover_target_ != 0 && now >= takeover_deadline_) {
    if (config_.secure() && !takeover_acks_pending_.empty()) {
      AbortTakeover();
    } else {
      WinTakeover(now);
    }
  }
  // Downloads from us that stalled.
  const Tick idle = static_cast<Tick>(3 * Millis(config_.max_time_no_response));
  absl::erase_if(table_sessions_, [now, idle](const auto& entry) {
    return !entry.second.busy && now > entry.second.last + idle;
  });
  ContinueAdoption();
}

// ---- shard commands -------------------------------------------------------------

void EnrpServer::Submit(uint32_t shard, ShardCommand* command) {
  ++in_flight_;
  host_->Submit(shard, command);
}

void EnrpServer::SubmitToAllShards(handlespace::OwnerCommand::Op op, RegistrarId owner,
                                   RegistrarId new_owner, Tick expiry, int purpose) {
  for (uint32_t k = 0; k < host_->shard_count(); ++k) {
    auto* job = new OwnerJob();
    job->purpose = purpose;
    job->op = op;
    job->owner = owner;
    job->new_owner = new_owner;
    job->expiry = expiry;
    Submit(k, job);
  }
}

bool EnrpServer::MovedAwayFromUs(const ShardCommand& command) const {
  if (command.kind != ShardCommand::Kind::kPeerUpdate) return false;
  const auto& update = static_cast<const handlespace::PeerUpdateCommand&>(command);
  // §3.3 with RFC 5352 §3.1 rule 4: a PE of ours registered at the peer
  // (an ADD_PE that moved it, not one kept ours by keep_home).
  return update.action == protocol::UpdateAction::kAddPe && !update.kept &&
         update.result.cause == protocol::kNoError && !update.result.added &&
         update.result.previous_home == config_.server_id && update.pe.home != config_.server_id;
}

void EnrpServer::OnShardAnswer(ShardCommand* command, Tick now) {
  --in_flight_;
  switch (command->kind) {
    case ShardCommand::Kind::kPeerUpdate: {
      std::unique_ptr<UpdateJob> job(
          static_cast<UpdateJob*>(static_cast<handlespace::PeerUpdateCommand*>(command)));
      if (job->action == protocol::UpdateAction::kAddPe && !job->kept &&
          job->result.cause != protocol::kNoError) {
        EnrpServerStats::Bump(stats_.updates_rejected);
      }
      if (MovedAwayFromUs(*job)) host_->ForgetMovedPe(job->handle, job->pe.id);
      if (job->purpose == kImport && --download_.imports_in_flight == 0 && download_.last_chunk &&
          download_.active) {
        FinishDownload(now);
      }
      return;
    }
    case ShardCommand::Kind::kOwner: {
      std::unique_ptr<OwnerJob> job(
          static_cast<OwnerJob*>(static_cast<handlespace::OwnerCommand*>(command)));
      if (job->purpose == kTakeOverOurs) {
        EnrpServerStats::Bump(stats_.pes_taken_over, job->count);
        takeover_pes_ += job->count;
        if (--takeover_answers_pending_ == 0) {
          adoption_ = Adoption{true, false, 0, 0};
          Log(now, absl::StrFormat("PEs of 0x%08x ours: %u, %u ms after the takeover began",
                                   takeover_logged_, takeover_pes_, now - takeover_started_));
        }
      } else if (job->purpose == kSweep) {
        EnrpServerStats::Bump(stats_.pes_swept, job->count);
      }
      return;
    }
    case ShardCommand::Kind::kChunk: {
      std::unique_ptr<ChunkJob> job(
          static_cast<ChunkJob*>(static_cast<handlespace::ChunkCommand*>(command)));
      if (job->purpose == kTableChunk) {
        AnswerChunk(job->key, *job, now);
        return;
      }
      adoption_.busy = false;
      for (const handlespace::ElementEntry& e : job->elements) host_->Adopt(e.handle, e.pe, now);
      if (job->next != handlespace::kIterationDone) {
        adoption_.cursor = job->next;
      } else if (++adoption_.shard < host_->shard_count()) {
        adoption_.cursor = 0;
      } else {
        adoption_ = Adoption();
      }
      return;
    }
    case ShardCommand::Kind::kAudit: {
      std::unique_ptr<AuditJob> job(
          static_cast<AuditJob*>(static_cast<handlespace::AuditCommand*>(command)));
      for (const handlespace::AuditCommand::Owner& o : job->owners) {
        auto& sum = audit_sums_[o.id];
        sum.first += o.count;
        sum.second += o.word_sum;
      }
      if (--audit_answers_ == 0) FinishAudit(now);
      return;
    }
    default:
      return;  // not ours (the registrar routes by family)
  }
}

}  // namespace rspd::control
