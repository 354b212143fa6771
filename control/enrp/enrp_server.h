// File: control/enrp/enrp_server.h
//
// The registrar's side of ENRP (RFC 5353): several registrars form one
// operation scope, each holding the whole handlespace and owning the PEs
// that registered with it.
//
//   - Peers (§3.1, §3.4.1): a static peer list; a message from an unknown
//     server adds it and is answered with a reply-required PRESENCE.
//     LIST_REQUEST is answered with every active peer and ourselves.
//   - Initialization (§3.2.2): the first static peer that answers is the
//     mentor; its handlespace is downloaded with HANDLE_TABLE_REQUESTs, one
//     chunk per request while the M bit says more (§3.2.3). ASAP is served
//     once the download is complete, or when no mentor answered within
//     mentor_discovery_timeout (alone). A registrar that is still
//     initializing rejects table requests (R bit).
//   - Updates (§3.3): every change to a PE we own (the ASAP server's
//     OwnedPeObserver) goes to every peer as HANDLE_UPDATE; a peer's update
//     is applied by the PE's shard. A PE that moved to a peer leaves our
//     ASAP server.
//   - Monitoring (§3.4): PRESENCE with our ownership checksum every
//     peer_heartbeat_cycle; a peer silent for max_time_last_heard gets a
//     reply-required PRESENCE and is dead after max_time_no_response more.
//   - Takeover (§3.5): INIT_TAKEOVER to every peer, the highest server ID
//     wins a contest, the target's PRESENCE aborts it; with every ACK (or at
//     takeover_expiry, docs/decisions.md) TAKEOVER_SERVER, the target's PEs
//     become ours, and the ASAP server sends each an H-bit keep-alive.
//   - Audit and resync (§3.6): the checksum a peer announces is compared
//     with ours for its PEs each cycle; two mismatches in a row resync its
//     PEs: mark, download them (W bit), sweep what was not in it.
//
// Messages from server ID 0 are an operator's tool (rspctl peers, dump):
// LIST_REQUEST and HANDLE_TABLE_REQUEST are answered, nothing else is taken,
// and the tool is not a peer (docs/decisions.md).
//
// Protocol logic only, like the ASAP server: decoded messages in, messages
// out through the transport interfaces, the handlespace through shard
// commands (handlespace/shard.h) whose answers the registrar hands back, the
// ASAP server's adoptions through its Host. It never reads a shard's table.
// Time is an argument in milliseconds. Single-threaded: the registrar runs
// it on a control thread of its own (EnrpThread, enrp_thread.h), whose Host
// and senders hand each call to the I/O thread.
//
// Depends on protocol/, handlespace/, the dataplane's transport and shard
// executor interfaces, and the ASAP server.
//
// Example (one thread):
//   EnrpServer::DirectHost host(&shards, &asap);
//   EnrpServer enrp(config, &host, &loop, &loop);
//   asap.set_observer(&enrp);
//   enrp.Start(now);
//   enrp.OnMessage(inbound, decoded, now);  // ENRP messages
//   enrp.OnShardAnswer(command, now);       // its commands' answers
//   enrp.OnTimer(now);

#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "control/asap/asap_server.h"
#include "control/config.h"
#include "control/message_counts.h"
#include "dataplane/shard_executor.h"
#include "dataplane/transport.h"
#include "handlespace/shard.h"
#include "protocol/codec.h"

namespace rspd::control {

// clang-format off
#define RSPD_ENRP_SERVER_STATS(X) \
  X(enrp_messages_received, "ENRP messages received") \
  X(enrp_messages_sent, "ENRP messages sent") \
  X(enrp_send_failures, "ENRP messages the transport could not send") \
  X(enrp_malformed, "ENRP messages that did not decode (ENRP_ERROR where the RFC asks)") \
  X(enrp_errors_received, "ENRP_ERRORs received") \
  X(enrp_claiming_our_id, "messages from another server with our server ID: dropped") \
  X(enrp_from_tools, "requests from server ID 0 (operators' tools)") \
  X(enrp_refused_from_tools, "messages from server ID 0 other than requests: dropped") \
  X(enrp_unexpected, "responses nobody asked for, or from another than the one asked: dropped") \
  X(peers_added, "servers added to the peer table") \
  X(peers_listed, "servers learned from a LIST_RESPONSE and called") \
  X(peers_refused, "messages from unknown servers dropped: the peer table is full (1,024)") \
  X(peers_moved, "messages from a known server on another endpoint than before") \
  X(downloads_abused, "downloads given up: empty chunks with the M bit, too many PEs, or too long") \
  X(takeovers_refused_alive, "TAKEOVER_SERVERs for a peer we hear: not obeyed") \
  X(multicast_presences_sent, "PRESENCEs sent to the multicast group") \
  X(multicast_presences_heard, "PRESENCEs of other servers heard on the multicast group") \
  X(peers_heard_multicast, "servers learned from a multicast PRESENCE and called") \
  X(peers_dead, "peers found dead (MAX-TIME-NO-RESPONSE after a reply-required PRESENCE)") \
  X(peers_unreachable, "listed servers that never answered: forgotten, not taken over") \
  X(presences_sent, "PRESENCEs sent") \
  X(presences_received, "PRESENCEs received") \
  X(updates_sent, "HANDLE_UPDATEs sent (one per peer)") \
  X(updates_received, "HANDLE_UPDATEs received") \
  X(updates_refused, "HANDLE_UPDATEs for a PE whose home is not the sender, or undecodable PEs: dropped") \
  X(updates_rejected, "peers' ADD_PEs the pool's rules rejected (inconsistent policy or transport)") \
  X(table_requests_received, "HANDLE_TABLE_REQUESTs received") \
  X(table_requests_rejected, "HANDLE_TABLE_REQUESTs answered with the R bit (initializing, or too many)") \
  X(table_responses_sent, "HANDLE_TABLE_RESPONSEs sent") \
  X(table_pes_sent, "PEs put in HANDLE_TABLE_RESPONSEs") \
  X(table_pes_received, "PEs received in HANDLE_TABLE_RESPONSEs") \
  X(downloads_completed, "handle table downloads completed (initial and resync)") \
  X(downloads_failed, "handle table downloads rejected or timed out") \
  X(takeovers_started, "takeovers started (INIT_TAKEOVER sent)") \
  X(takeovers_won, "takeovers won (TAKEOVER_SERVER sent)") \
  X(takeovers_aborted, "takeovers aborted: the target spoke, or a higher ID took over") \
  X(takeovers_by_peers, "TAKEOVER_SERVERs received") \
  X(takeovers_resumed, "takeovers we gave up to a peer that gave its own up to us (RSPLIB)") \
  X(takeovers_implied, "takeovers ACKed whose TAKEOVER_SERVER never came, the initiator alive") \
  X(pes_taken_over, "PEs that became ours by takeover") \
  X(checksum_mismatches, "audits whose checksum for a peer differed from its PRESENCE") \
  X(resyncs, "resynchronizations of a peer's PEs (RFC 5353 §3.6.3)") \
  X(pes_swept, "PEs removed by a resync's sweep")
// clang-format on

struct EnrpServerStats {
#define RSPD_ENRP_STAT_FIELD(name, help) std::atomic<uint64_t> name{0};
  RSPD_ENRP_SERVER_STATS(RSPD_ENRP_STAT_FIELD)
#undef RSPD_ENRP_STAT_FIELD
  static void Bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  template <typename Fn>
  void ForEach(Fn fn) const {
#define RSPD_ENRP_STAT_EXPORT(name, help) fn(#name, help, name.load(std::memory_order_relaxed));
    RSPD_ENRP_SERVER_STATS(RSPD_ENRP_STAT_EXPORT)
#undef RSPD_ENRP_STAT_EXPORT
  }
};

class EnrpServer final : public OwnedPeObserver {
 public:
  using Tick = handlespace::Tick;
  using RegistrarId = handlespace::RegistrarId;
  using InboundMessage = dataplane::InboundMessage;

  // A peer's state (RFC 5353 §3.4, §3.5).
  using PeerState = protocol::PeerState;
  struct Peer {
    RegistrarId id = 0;
    // Where it is reached: its SCTP-over-UDP endpoint and ENRP port.
    protocol::IpAddress ip;
    uint16_t udp_port = 0;
    uint16_t sctp_port = 0;
    PeerState state = PeerState::kActive;
    // Whether it ever spoke to us: one only listed by a mentor that never
    // answers is forgotten, never taken over (it may be alive elsewhere).
    bool heard = true;
    Tick last_heard = 0;
    Tick deadline = 0;  // kProbed: dead after; kInactive: probed after
    // A takeover of it by another server, while it stays silent: the
    // highest introduced initiator whose INIT_TAKEOVER we ACKed (§3.5.1: the
    // one that goes on); the initiator we gave our own takeover up to; and
    // whether that one gave its own up to us (RSPLIB, docs/decisions.md).
    RegistrarId taken_over_by = 0;
    RegistrarId yielded_to = 0;
    bool initiator_yielded = false;
    // It sent a PRESENCE with its Server Information: the unit below is
    // known. Until then a HANDLE_TABLE_REQUEST of its waits (at most
    // MAX-TIME-NO-RESPONSE, from held_since; W bit in held_flags).
    bool introduced = false;
    bool table_request_held = false;
    uint8_t held_flags = 0;
    Tick held_since = 0;
    // It writes and reads Registration Life in milliseconds (RSPLIB: its
    // PRESENCE lacks rspd's UDP port parameter), not seconds.
    bool lifetimes_in_millis = false;
    bool has_checksum = false;
    uint16_t checksum = 0;           // as it announced it
    bool checksum_fresh = false;     // announced since the last audit
    int mismatches = 0;              // PRESENCEs in a row whose checksum disagreed
    size_t owned = 0;                // PEs it owns in our handlespace (last audit)
    Tick moved_logged = 0;           // the last log of its endpoint changing
    uint16_t our_checksum = 0xffff;  // of its PEs in our handlespace (last audit)
  };

  // What the server asks of the handlespace shards and the ASAP server.
  class Host {
   public:
    virtual ~Host() = default;
    virtual uint32_t shard_count() const = 0;
    // Queues a command (the server's until its answer comes back through
    // OnShardAnswer).
    virtual void Submit(uint32_t shard, handlespace::ShardCommand* command) = 0;
    // AsapServer::Adopt, ForgetMovedPe, adoption_backlog.
    virtual void Adopt(absl::string_view handle, const protocol::PoolElement& pe, Tick now) = 0;
    virtual void ForgetMovedPe(absl::string_view handle, uint32_t pe_id) = 0;
    virtual size_t adoption_backlog() const = 0;
  };
  // The Host on the thread of the shard executor and the ASAP server.
  class DirectHost final : public Host {
   public:
    DirectHost(dataplane::ShardExecutor* shards, AsapServer* asap) : shards_(shards), asap_(asap) {}
    uint32_t shard_count() const override { return shards_->shard_count(); }
    void Submit(uint32_t shard, handlespace::ShardCommand* command) override {
      shards_->Submit(shard, command, /*must_run=*/true);
    }
    void Adopt(absl::string_view handle, const protocol::PoolElement& pe, Tick now) override {
      asap_->Adopt(handle, pe, now);
    }
    void ForgetMovedPe(absl::string_view handle, uint32_t pe_id) override {
      asap_->ForgetMovedPe(handle, pe_id);
    }
    size_t adoption_backlog() const override { return asap_->adoption_backlog(); }

   private:
    dataplane::ShardExecutor* shards_;
    AsapServer* asap_;
  };

  // Everything passed must outlive the server.
  EnrpServer(const RegistrarConfig& config, Host* host, dataplane::MessageSender* sender,
             dataplane::AddressedSender* addressed);

  // Calls the static peers (a reply-required PRESENCE: §3.4.1) and starts
  // the mentor discovery. `udp_port`: the port our SCTP over UDP uses (what
  // peers that learn of us from a LIST_RESPONSE call).
  void Start(uint16_t udp_port, Tick now);
  // Static peers added at run time (a reloaded configuration): those not
  // listed yet are called like the ones at Start, and again every
  // PEER-HEARTBEAT-CYCLE until they answer.
  void AddStaticPeers(const std::vector<RegistrarConfig::PeerAddress>& peers, Tick now);
  // One decoded ENRP message (port and PPID checked by the caller).
  void OnMessage(const InboundMessage& in, const protocol::Message& m, Tick now);
  void OnUndecodable(const InboundMessage& in, const protocol::DecodeError& error);
  // A PRESENCE heard on the multicast channel from `source` (its
  // datagram's source address): an unknown server is called like a static
  // peer, a known one counts as heard.
  void OnMulticastPresence(const protocol::IpAddress& source, const protocol::Message& m, Tick now);
  // Where our PRESENCE goes each cycle besides the peers (the multicast
  // channel); optional.
  using MulticastFn = std::function<void(absl::Span<const uint8_t> presence)>;
  void set_multicast(MulticastFn send) { multicast_ = std::move(send); }
  void OnTimer(Tick now);
  // The answer to one of our shard commands (command->enrp()).
  void OnShardAnswer(handlespace::ShardCommand* command, Tick now);
  // Whether that answer is a PE of ours that registered at a peer (its ASAP
  // session goes: Host::ForgetMovedPe). Safe from any thread.
  bool MovedAwayFromUs(const handlespace::ShardCommand& command) const;
  // A message the transport refused after the server had counted it sent
  // (its sender was on another thread): counted, and a download from that
  // peer or a table session for it ends as if the send had failed at once.
  void OnSendRefused(RegistrarId peer, Tick now);

  // Where the server reports its events (peers up and dead, downloads,
  // takeovers, resyncs), one line each, e.g. "takeover of 0x00000002 won:
  // 1000000 PEs"; `now` in milliseconds. Optional.
  using LogFn = std::function<void(Tick now, const std::string& line)>;
  void set_log(LogFn log) { log_ = std::move(log); }

  // OwnedPeObserver: HANDLE_UPDATE to every peer.
  void OnOwnedPeRegistered(absl::string_view handle, const protocol::PoolElement& pe) override;
  void OnOwnedPeRemoved(absl::string_view handle, const protocol::PoolElement& pe) override;

  // True once the initial download is done (or there was no mentor): ASAP
  // is served from then on (§3.2.2).
  // Safe from any thread.
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  RegistrarId server_id() const { return config_.server_id; }
  // The server's thread only.
  const absl::flat_hash_map<RegistrarId, Peer>& peers() const { return peers_; }
  const EnrpServerStats& stats() const { return stats_; }
  // ENRP messages by type, received and sent (multicast PRESENCEs apart).
  const MessageCounts& message_counts() const { return message_counts_; }
  // Shard commands not yet answered.
  size_t in_flight() const { return in_flight_; }

 private:
  // A paged download (§3.2.3): ours from a peer (initial: W=0; resync: W=1).
  struct Download {
    bool active = false;
    bool resync = false;  // W=1: the peer's own PEs, mark and sweep
    RegistrarId from = 0;
    Tick deadline = 0;
    int imports_in_flight = 0;
    bool last_chunk = false;
    bool imported_own = false;  // PEs of ours (a restart): adopted after
    Tick give_up = 0;           // the whole download's deadline
    int outstanding = 0;        // requests not yet answered
  };
  // A download that ended with requests still out: their answers are let
  // go without a count (they are no peer's fault).
  RegistrarId surplus_from_ = 0;
  int surplus_ = 0;
  // Ends the download (done, failed, or settled otherwise).
  void EndDownload();
  // A peer's (or a tool's) paged download from us.
  struct TableSession {
    bool own_only = false;
    uint32_t shard = 0;
    uint32_t cursor = 0;
    bool busy = false;     // a chunk is being read
    bool waiting = false;  // a request waits for that chunk
    // The next response, read ahead while the last one travels, and whether
    // more follow it.
    std::vector<uint8_t> ready;
    bool ready_more = false;
    Tick last = 0;
    dataplane::AssocRef tool;  // server ID 0: answered on this association
  };
  // The walk over our PEs without a session after a takeover (or a
  // restart): each is adopted by the ASAP server.
  struct Adoption {
    bool active = false;
    bool busy = false;
    uint32_t shard = 0;
    uint32_t cursor = 0;
  };

  Peer* FindPeer(RegistrarId id);
  // The unknown-peer rule (§3.4.1): adds the sender and asks for its PRESENCE.
  Peer* Learn(const InboundMessage& in, RegistrarId id, Tick now);
  void RemovePeer(RegistrarId id);

  // Sending.
  bool SendToPeer(const Peer& peer, const protocol::Message& m);
  bool SendRaw(const Peer& peer, absl::Span<const uint8_t> bytes);
  protocol::Message Header(protocol::EnrpType type, RegistrarId receiver, uint8_t flags = 0) const;
  void SendPresence(Peer& peer, bool reply_required, Tick now);
  void SendPresenceToAll(Tick now);
  void SendTakeoverMessage(protocol::EnrpType type, RegistrarId target, Peer& to);
  void Announce(protocol::UpdateAction action, absl::string_view handle,
                const protocol::PoolElement& pe);

  // Handlers.
  void HandlePresence(Peer& peer, const protocol::Message& m, Tick now);
  void HandleTableRequest(const InboundMessage& in, Peer* peer, const protocol::Message& m,
                          Tick now);
  void HandleTableResponse(Peer& peer, const protocol::Message& m, Tick now);
  void HandleUpdate(Peer& peer, const protocol::Message& m, Tick now);
  // `peer` null: an operator's tool, which gets every peer with its state.
  void HandleListRequest(const InboundMessage& in, Peer* peer, const protocol::Message& m,
                         Tick now);
  void HandleListResponse(const Peer& from, const protocol::Message& m, Tick now);
  protocol::ServerInformation OwnServerInformation() const;
  void HandleInitTakeover(Peer& peer, const protocol::Message& m, Tick now);
  void HandleInitTakeoverAck(Peer& peer, const protocol::Message& m, Tick now);
  void HandleTakeoverServer(Peer& peer, const protocol::Message& m, Tick now);
  // The peer spoke: it is alive, and no takeover of it stands.
  static void MarkAlive(Peer& peer);
  // A table request (`flags`: W) served now, the wait for its unit over.
  void ServeTableRequest(const InboundMessage& in, Peer* peer, uint8_t flags, Tick now);
  // §3.5.2: the target's PEs are the winner's; the target leaves the table.
  void HandOver(RegistrarId target, RegistrarId winner);

  // Downloads from peers.
  void StartDownload(RegistrarId from, bool resync, Tick now);
  void RequestChunk(Peer& peer, Tick now);
  void FinishDownload(Tick now);
  void FailDownload(Tick now);
  // Table sessions.
  void ReadChunk(uint64_t key, TableSession& session);
  void AnswerChunk(uint64_t key, handlespace::ChunkCommand& chunk, Tick now);
  // Sends a response of the session; false if it could not go.
  bool SendChunk(uint64_t key, const TableSession& session, absl::Span<const uint8_t> bytes);
  // Takeover.
  void StartTakeover(Peer& target, Tick now);
  void WinTakeover(Tick now);
  void AbortTakeover();
  // Audit.
  void StartAudit(Tick now);
  void FinishAudit(Tick now);
  void ContinueAdoption();

  // Queues a command (owned by the server until its answer).
  void Submit(uint32_t shard, handlespace::ShardCommand* command);
  // An OwnerCommand for every shard.
  void SubmitToAllShards(handlespace::OwnerCommand::Op op, RegistrarId owner, RegistrarId new_owner,
                         Tick expiry, int purpose);

  RegistrarConfig config_;
  Host* host_;
  dataplane::MessageSender* sender_;
  dataplane::AddressedSender* addressed_;
  absl::flat_hash_map<RegistrarId, Peer> peers_;
  // Our server information (RFC 5354 §3.11): ENRP port and the address
  // peers reach us at.
  protocol::IpAddress own_address_;
  uint16_t own_udp_port_ = 0;
  std::atomic<bool> ready_{false};
  Tick mentor_deadline_ = 0;  // serve alone after this unless a download runs
  Tick mentor_retry_at_ = 0;  // a mentor rejected us: the next try not before
  Tick next_presence_ = 0;
  Download download_;
  std::vector<RegistrarId> resync_queue_;
  // Peers that asked us for a whole table while we started (they start too).
  absl::flat_hash_set<RegistrarId> starting_peers_;
  absl::flat_hash_map<uint64_t, TableSession> table_sessions_;
  // Takeover in progress (§3.5.1).
  RegistrarId takeover_target_ = 0;
  Tick takeover_deadline_ = 0;
  absl::flat_hash_set<RegistrarId> takeover_acks_pending_;
  uint32_t takeover_answers_pending_ = 0;  // shards still moving the PEs
  Adoption adoption_;
  // Audit: the shards' answers summed per owner.
  uint32_t audit_answers_ = 0;  // shards yet to answer
  absl::flat_hash_map<RegistrarId, std::pair<size_t, uint64_t>> audit_sums_;
  uint16_t own_checksum_ = 0xffff;
  size_t own_count_ = 0;
  size_t in_flight_ = 0;
  LogFn log_;
  MulticastFn multicast_;
  void Log(Tick now, const std::string& line) {
    if (log_) log_(now, line);
  }
  Tick download_started_ = 0;  // for the log
  size_t download_pes_ = 0;
  Tick takeover_started_ = 0;
  RegistrarId takeover_logged_ = 0;
  size_t takeover_pes_ = 0;
  EnrpServerStats stats_;
  MessageCounts message_counts_;
};

// Takes every answered shard command back to the server that issued it, by
// its family (handlespace::ShardCommand::enrp()): to the ASAP server, or to
// `enrp` (an EnrpServer, or the EnrpThread that runs one). Inline shards
// answer follow-ups at once: it collects until nothing is left.
template <typename Enrp>
void CollectShardAnswers(dataplane::ShardExecutor& shards, AsapServer& asap, Enrp& enrp,
                         handlespace::Tick now) {
  const auto route = [&](handlespace::ShardCommand* c) {
    if (c->management()) {
      auto* manage = static_cast<handlespace::ManageCommand*>(c);
      manage->on_answer(manage);
    } else if (c->enrp()) {
      enrp.OnShardAnswer(c, now);
    } else {
      asap.OnShardAnswer(c, now);
    }
  };
  while (shards.Collect(route) != 0 && !shards.threaded()) {
  }
}

}  // namespace rspd::control
