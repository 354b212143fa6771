// The ENRP server's state machine on an inline shard, message by message:
// takeover arbitration (RFC 5353 §3.5.1), the takeover itself (§3.5.2),
// handle table paging (§3.2.3), and updates from peers (§3.3).

#include "control/enrp/enrp_server.h"

#include <map>
#include <utility>
#include <vector>

#include "control/asap/asap_server.h"
#include "control/enrp/testing/enrp_test_util.h"
#include "dataplane/shard_executor.h"
#include "gtest/gtest.h"
#include "protocol/pool_element_codec.h"

namespace rspd::control {
namespace {

using protocol::EnrpType;
using protocol::Message;

using testing::Recorder;

class EnrpServerTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kSelf = 5;

  EnrpServerTest()
      : shards_({}),
        asap_(Config(), &shards_, &out_, nullptr, &out_),
        host_(&shards_, &asap_),
        enrp_(Config(), &host_, &out_, &out_) {
    asap_.set_observer(&enrp_);
    enrp_.Start(9899, now_);
  }

  static RegistrarConfig Config() {
    RegistrarConfig config;
    config.server_id = kSelf;
    config.max_elements_per_table_response = 4;
    config.peer_heartbeat_cycle = absl::Milliseconds(500);
    config.max_time_last_heard = absl::Seconds(2);
    config.max_time_no_response = absl::Seconds(1);
    config.takeover_expiry = absl::Seconds(3);
    return config;
  }

  // A message from peer `id` (at UDP port 10000 + id).
  void From(uint32_t id, Message m) {
    m.protocol = protocol::Protocol::kEnrp;
    m.sender_id = id;
    const std::vector<uint8_t> bytes = protocol::EncodeMessageToVector(m);
    static int peers[16];
    const dataplane::InboundMessage in = testing::FromPeer(id, &peers[id % 16], bytes);
    Message decoded;
    protocol::DecodeError error;
    ASSERT_TRUE(protocol::DecodeMessage(protocol::Protocol::kEnrp, bytes, &decoded, &error));
    enrp_.OnMessage(in, decoded, now_);
    Collect();
  }
  static Message Of(EnrpType type, uint32_t target = 0) {
    Message m;
    m.type = static_cast<uint8_t>(type);
    m.target_id = target;
    return m;
  }
  void Collect() { CollectShardAnswers(shards_, asap_, enrp_, now_); }

  void Advance(int64_t millis) {
    for (int64_t t = 0; t < millis; t += 10) {
      now_ += 10;
      enrp_.OnTimer(now_);
      asap_.OnTimer(now_);
      Collect();
    }
  }
  void AddPes(uint32_t owner, uint32_t first, uint32_t count, const std::string& pool = "p") {
    for (uint32_t i = 0; i < count; ++i) {
      const protocol::PoolElement pe = testing::Pe(first + i, owner);
      From(owner, testing::AddPeUpdate(pool, pe));
    }
  }
  // A PRESENCE with Server Information, as rspd sends it (with its UDP
  // port) or as RSPLIB does (without).
  static Message PresenceWithServerInformation(uint16_t udp_port) {
    Message m = Of(EnrpType::kPresence);
    m.has_server_information = true;
    m.server_information.transport.type = protocol::ParamType::kSctpTransport;
    m.server_information.transport.port = protocol::kEnrpPort;
    static const protocol::IpAddress kLoopback = *protocol::IpAddress::Parse("127.0.0.1");
    m.server_information.transport.addresses =
        protocol::ParamList<protocol::IpAddress>(absl::MakeConstSpan(&kLoopback, 1));
    m.server_information.udp_port = udp_port;
    return m;
  }
  // Peer `id` introduces itself as rspd does (a PRESENCE with its Server
  // Information and UDP port): its table requests are served at once.
  void Introduce(uint32_t id) {
    From(id, PresenceWithServerInformation(static_cast<uint16_t>(10000 + id)));
  }
  size_t OwnedBy(uint32_t owner) const { return shards_.shard(0).table().OwnedCount(owner); }

  uint64_t now_ = 1000;
  Recorder out_;
  dataplane::ShardExecutor shards_;
  AsapServer asap_;
  EnrpServer::DirectHost host_;
  EnrpServer enrp_;
};

TEST_F(EnrpServerTest, PeersUpdatesAreAppliedAndOnlyForTheirOwnPes) {
  AddPes(2, 100, 3);
  EXPECT_EQ(OwnedBy(2), 3u);
  // A peer cannot announce another's PE, nor one of ours.
  AddPes(3, 100, 1);  // pe.home = 3 is the sender: a move of PE 100 to 3
  EXPECT_EQ(OwnedBy(2), 2u);
  EXPECT_EQ(OwnedBy(3), 1u);
  Message del = Of(EnrpType::kHandleUpdate);
  del.update_action = protocol::UpdateAction::kDelPe;
  protocol::PoolElement pe;
  pe.id = 100;
  pe.home = 2;  // its old owner's DEL_PE comes late: PE 100 is 3's now
  pe.user.type = protocol::ParamType::kSctpTransport;
  pe.user.addresses.push_back(*protocol::IpAddress::Parse("10.0.0.1"));
  del.has_pool_handle = true;
  del.pool_handle = "p";
  del.has_pool_element = true;
  del.pool_element = protocol::ViewOf(pe);
  From(2, del);
  EXPECT_EQ(OwnedBy(3), 1u) << "a DEL_PE from an owner the PE left removed it";
  EXPECT_EQ(enrp_.stats().updates_refused.load(), 0u);
  From(4, del);  // names home 2, sent by 4
  EXPECT_EQ(enrp_.stats().updates_refused.load(), 1u);
}

// RFC 5353 §3.5.1: two initiators; the higher server ID goes on.
TEST_F(EnrpServerTest, CompetingTakeoversTheHigherServerIdWins) {
  AddPes(2, 100, 5);
  From(7, Of(EnrpType::kPresence));
  From(3, Of(EnrpType::kPresence));
  // Peer 2 falls silent; 3 and 7 keep talking.
  for (int i = 0; i < 8; ++i) {
    Advance(500);
    From(7, Of(EnrpType::kPresence));
    From(3, Of(EnrpType::kPresence));
  }
  ASSERT_EQ(enrp_.stats().takeovers_started.load(), 1u);
  EXPECT_EQ(out_.Of(EnrpType::kInitTakeover, 10002).size(), 1u) << "the target gets it too";
  // A lower initiator (3) is ignored: no ACK to it.
  From(3, Of(EnrpType::kInitTakeover, 2));
  EXPECT_TRUE(out_.Of(EnrpType::kInitTakeoverAck, 10003).empty());
  // A higher one (7): we give up and acknowledge.
  From(7, Of(EnrpType::kInitTakeover, 2));
  EXPECT_EQ(out_.Of(EnrpType::kInitTakeoverAck, 10007).size(), 1u);
  EXPECT_EQ(enrp_.stats().takeovers_aborted.load(), 1u);
  // The winner's TAKEOVER_SERVER: the PEs are 7's, here too.
  From(7, Of(EnrpType::kTakeoverServer, 2));
  EXPECT_EQ(OwnedBy(7), 5u);
  EXPECT_EQ(OwnedBy(2), 0u);
  EXPECT_EQ(OwnedBy(kSelf), 0u);
  EXPECT_EQ(enrp_.peers().count(2), 0u);
  Advance(5000);
  EXPECT_EQ(enrp_.stats().takeovers_won.load(), 0u);
}

TEST_F(EnrpServerTest, TakeoverWithEveryAckMakesThePesOursAndTellsThePeers) {
  AddPes(2, 100, 5);
  From(7, Of(EnrpType::kPresence));
  for (int i = 0; i < 8 && enrp_.stats().takeovers_started.load() == 0; ++i) {
    Advance(500);
    From(7, Of(EnrpType::kPresence));
  }
  ASSERT_EQ(enrp_.stats().takeovers_started.load(), 1u);
  From(7, Of(EnrpType::kInitTakeoverAck, 2));
  EXPECT_EQ(enrp_.stats().takeovers_won.load(), 1u);
  EXPECT_EQ(out_.Of(EnrpType::kTakeoverServer, 10007).size(), 1u);
  EXPECT_EQ(OwnedBy(kSelf), 5u);
  EXPECT_EQ(enrp_.stats().pes_taken_over.load(), 5u);
  // Each taken PE is sent an H-bit keep-alive (paced, within a tick here).
  Advance(100);
  EXPECT_EQ(asap_.stats().adoption_keep_alives_sent.load(), 5u);
}

// RFC 5353 §3.5.1: the target speaking aborts the takeover.
TEST_F(EnrpServerTest, TheTargetsPresenceAbortsTheTakeover) {
  AddPes(2, 100, 2);
  From(7, Of(EnrpType::kPresence));
  for (int i = 0; i < 8 && enrp_.stats().takeovers_started.load() == 0; ++i) {
    Advance(500);
    From(7, Of(EnrpType::kPresence));
  }
  ASSERT_EQ(enrp_.stats().takeovers_started.load(), 1u);
  From(2, Of(EnrpType::kPresence));
  EXPECT_EQ(enrp_.stats().takeovers_aborted.load(), 1u);
  From(7, Of(EnrpType::kInitTakeoverAck, 2));
  EXPECT_EQ(enrp_.stats().takeovers_won.load(), 0u);
  EXPECT_EQ(OwnedBy(2), 2u);
}

// RFC 5353 §3.2.3: one chunk per request, M while more follow, every PE once.
TEST_F(EnrpServerTest, HandleTableIsServedInChunksWithTheMoreBit) {
  AddPes(2, 100, 10);
  Introduce(9);
  std::vector<uint32_t> ids;
  for (int request = 0; request < 5; ++request) {
    out_.sent.clear();
    From(9, Of(EnrpType::kHandleTableRequest));
    std::vector<Message> responses = out_.Of(EnrpType::kHandleTableResponse, 10009);
    ASSERT_EQ(responses.size(), 1u) << "request " << request;
    for (const protocol::PoolEntry& entry : responses[0].pool_entries) {
      for (const protocol::PoolElementView& pe : entry.elements) ids.push_back(pe.pe_id);
    }
    if (!(responses[0].flags & protocol::kFlagMoreToSend)) break;
  }
  std::sort(ids.begin(), ids.end());
  ASSERT_EQ(ids.size(), 10u);
  for (uint32_t i = 0; i < 10; ++i) EXPECT_EQ(ids[i], 100 + i);
}

// PE IDs in the HANDLE_TABLE_RESPONSEs sent to peer `id` since `from`.
std::vector<uint32_t> IdsIn(const std::vector<Message>& responses) {
  std::vector<uint32_t> ids;
  for (const Message& m : responses) {
    for (const protocol::PoolEntry& entry : m.pool_entries) {
      for (const protocol::PoolElementView& pe : entry.elements) ids.push_back(pe.pe_id);
    }
  }
  return ids;
}

// A registrar that restarts asks for its table again: the download starts
// over, not where its previous life stopped.
TEST_F(EnrpServerTest, ARestartedRequesterGetsTheTableFromTheBeginning) {
  AddPes(2, 100, 10);
  Introduce(9);
  From(9, Of(EnrpType::kHandleTableRequest));
  ASSERT_EQ(IdsIn(out_.Of(EnrpType::kHandleTableResponse, 10009)).front(), 100u);
  Message hello = Of(EnrpType::kPresence);
  hello.flags = protocol::kFlagReplyRequired;  // how a starting registrar calls
  From(9, hello);
  out_.sent.clear();
  From(9, Of(EnrpType::kHandleTableRequest));
  const std::vector<uint32_t> ids = IdsIn(out_.Of(EnrpType::kHandleTableResponse, 10009));
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 100u);
  // And after the requester must have given up (MAX-TIME-NO-RESPONSE).
  From(9, Of(EnrpType::kHandleTableRequest));
  Advance(1500);
  out_.sent.clear();
  From(9, Of(EnrpType::kHandleTableRequest));
  EXPECT_EQ(IdsIn(out_.Of(EnrpType::kHandleTableResponse, 10009)).front(), 100u);
}

// A timer call with a time before the download's last answer (the same turn
// of the loop, its clock read earlier) does not end the download: the next
// request gets the next chunk, not the first again.
TEST_F(EnrpServerTest, ATimerBehindTheLastAnswerDoesNotRestartADownload) {
  AddPes(2, 100, 10);
  Introduce(9);
  From(9, Of(EnrpType::kHandleTableRequest));  // chunk 1; chunk 2 read ahead
  now_ += 5;
  From(9, Of(EnrpType::kHandleTableRequest));  // chunk 2; chunk 3 read ahead at now_
  enrp_.OnTimer(now_ - 5);
  out_.sent.clear();
  From(9, Of(EnrpType::kHandleTableRequest));
  const std::vector<uint32_t> ids = IdsIn(out_.Of(EnrpType::kHandleTableResponse, 10009));
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 108u) << "the download started over";
}

// A mentor that says "more" and sends nothing is given up on.
TEST_F(EnrpServerTest, AnEndlessDownloadIsGivenUp) {
  AddPes(2, 100, 3);
  Message presence = Of(EnrpType::kPresence);
  presence.has_checksum = true;
  presence.checksum = 0x1234;  // not what we have for 2: the audit resyncs it
  for (int i = 0; i < 20 && out_.Of(EnrpType::kHandleTableRequest, 10002).empty(); ++i) {
    From(2, presence);
    Advance(600);
  }
  ASSERT_FALSE(out_.Of(EnrpType::kHandleTableRequest, 10002).empty()) << "no resync started";
  Message endless = Of(EnrpType::kHandleTableResponse);
  endless.flags = protocol::kFlagMoreToSend;
  From(2, endless);
  EXPECT_EQ(enrp_.stats().downloads_abused.load(), 1u);
  // The marks of the failed resync swept nothing.
  EXPECT_EQ(OwnedBy(2), 3u);
}

// Peers and operators' tools (ID 0) have download budgets of their own.
TEST_F(EnrpServerTest, PeersFillingTheDownloadSessionsDoNotLockToolsOut) {
  AddPes(2, 100, 10);  // 3 chunks: every download stays open after its first
  for (uint32_t id = 20; id <= 36; ++id) Introduce(id);
  for (uint32_t id = 20; id < 36; ++id) From(id, Of(EnrpType::kHandleTableRequest));
  EXPECT_EQ(enrp_.stats().table_requests_rejected.load(), 0u);
  out_.sent.clear();
  From(36, Of(EnrpType::kHandleTableRequest));
  ASSERT_EQ(out_.Of(EnrpType::kHandleTableResponse, 10036).size(), 1u);
  EXPECT_TRUE(out_.Of(EnrpType::kHandleTableResponse, 10036)[0].flags & protocol::kFlagTableReject);
  out_.sent.clear();
  From(0, Of(EnrpType::kHandleTableRequest));  // rspctl dump
  const std::vector<Message> tool = out_.Of(EnrpType::kHandleTableResponse);
  ASSERT_EQ(tool.size(), 1u);
  EXPECT_FALSE(tool[0].flags & protocol::kFlagTableReject);
}

TEST_F(EnrpServerTest, MadeUpServerIdsCannotGrowThePeerTableWithoutBound) {
  for (uint32_t id = 100; id < 1300; ++id) From(id, Of(EnrpType::kPresence));
  EXPECT_LE(enrp_.peers().size(), 1024u);
  EXPECT_GT(enrp_.stats().peers_refused.load(), 0u);
}

// A TAKEOVER_SERVER for a peer we hear is not obeyed (docs/decisions.md).
TEST_F(EnrpServerTest, ATakeoverOfAPeerWeHearIsNotObeyed) {
  AddPes(2, 100, 4);
  From(7, Of(EnrpType::kPresence));
  From(7, Of(EnrpType::kTakeoverServer, 2));
  EXPECT_EQ(OwnedBy(2), 4u);
  EXPECT_EQ(enrp_.stats().takeovers_refused_alive.load(), 1u);
}

// An INIT_TAKEOVER we ACKed whose TAKEOVER_SERVER never comes (RSPLIB's may
// never leave it): an initiator we still hear has the PEs; the target, dead,
// is not taken over by us as well (docs/decisions.md).
TEST_F(EnrpServerTest, AnAckedTakeoverWithoutTakeoverServerHandsThePesToTheLiveInitiator) {
  AddPes(2, 100, 3);
  Introduce(7);
  Introduce(3);
  From(3, Of(EnrpType::kInitTakeover, 2));
  From(7, Of(EnrpType::kInitTakeover, 2));  // the higher initiator: it goes on
  EXPECT_EQ(out_.Of(EnrpType::kInitTakeoverAck).size(), 2u);
  // 6 s: past the takeover expiry + max-time-no-response, and the probe of
  // the target that follows (max-time-no-response).
  for (int i = 0; i < 12; ++i) {
    Advance(500);
    From(7, Of(EnrpType::kPresence));
    From(3, Of(EnrpType::kPresence));
  }
  EXPECT_EQ(OwnedBy(7), 3u);
  EXPECT_EQ(OwnedBy(2), 0u);
  EXPECT_EQ(enrp_.stats().takeovers_implied.load(), 1u);
  EXPECT_EQ(enrp_.stats().takeovers_started.load(), 0u);
  EXPECT_EQ(enrp_.peers().count(2), 0u);
}

// The initiator died too: we watch the target again, find it dead, and take
// it over ourselves.
TEST_F(EnrpServerTest, AnAckedTakeoverWhoseInitiatorDiedIsOursToDo) {
  AddPes(2, 100, 3);
  From(7, Of(EnrpType::kPresence));
  From(7, Of(EnrpType::kInitTakeover, 2));
  ASSERT_EQ(out_.Of(EnrpType::kInitTakeoverAck, 10007).size(), 1u);
  for (int i = 0; i < 40 && OwnedBy(kSelf) == 0; ++i) Advance(500);
  EXPECT_EQ(OwnedBy(kSelf), 3u);
  EXPECT_EQ(OwnedBy(2), 0u);
  EXPECT_EQ(enrp_.stats().takeovers_implied.load(), 0u);
  EXPECT_EQ(enrp_.peers().size(), 0u) << "7 and 2 both dead and gone";
}

// RSPLIB writes and reads Registration Life in milliseconds; rspd's peers and
// RFC 5354 §3.10 in seconds (docs/decisions.md). A PE's life is kept in
// seconds and written in each peer's unit.
TEST_F(EnrpServerTest, RsplibPeersGetAndGiveRegistrationLifeInMilliseconds) {
  From(8, PresenceWithServerInformation(0));      // RSPLIB: no UDP port parameter
  From(9, PresenceWithServerInformation(10009));  // rspd
  const protocol::PoolElement pe =
      testing::Pe(100, 8, /*registration_life=*/90000);  // RSPLIB's 90 s
  From(8, testing::AddPeUpdate("p", pe));
  ASSERT_EQ(OwnedBy(8), 1u);
  // The table each peer downloads gives it the life in its own unit.
  const auto life_in_table_for = [&](uint32_t requester) {
    out_.sent.clear();
    From(requester, Of(EnrpType::kHandleTableRequest));
    const std::vector<Message> r =
        out_.Of(EnrpType::kHandleTableResponse, static_cast<uint16_t>(10000 + requester));
    EXPECT_EQ(r.size(), 1u);
    for (const protocol::PoolEntry& entry : r[0].pool_entries) {
      for (const protocol::PoolElementView& e : entry.elements) return e.registration_life;
    }
    return -2;  // no PE
  };
  EXPECT_EQ(life_in_table_for(9), 90);
  EXPECT_EQ(life_in_table_for(8), 90000);
}

// RSPLIB 3.4.4 arbitrates the other way round: of two initiators the lower ID
// goes on. So the higher one (RSPLIB here) ACKs ours and gives up, while we
// gave up to it: its ACK tells us, and we take the target over after all.
TEST_F(EnrpServerTest, AnInitiatorThatYieldedToUsLetsUsTakeOverAfterAll) {
  AddPes(2, 100, 3);
  From(7, Of(EnrpType::kPresence));
  for (int i = 0; i < 8 && enrp_.stats().takeovers_started.load() == 0; ++i) {
    Advance(500);
    From(7, Of(EnrpType::kPresence));
  }
  ASSERT_EQ(enrp_.stats().takeovers_started.load(), 1u);
  From(7, Of(EnrpType::kInitTakeover, 2));  // higher: we yield (RFC 5353 §3.5.1)
  ASSERT_EQ(enrp_.stats().takeovers_aborted.load(), 1u);
  From(7, Of(EnrpType::kInitTakeoverAck, 2));  // it yielded to us
  EXPECT_EQ(enrp_.stats().takeovers_resumed.load(), 1u);
  EXPECT_EQ(enrp_.stats().takeovers_won.load(), 1u);
  EXPECT_EQ(out_.Of(EnrpType::kTakeoverServer, 10007).size(), 1u);
  EXPECT_EQ(OwnedBy(kSelf), 3u);
  EXPECT_EQ(enrp_.stats().enrp_unexpected.load(), 0u);
}

// RFC 5353 §3.6: each PRESENCE's checksum is weighed once. A peer that
// announces less often than we audit is not resynced on one stale word; two
// PRESENCEs in a row that disagree are a resync (a W=1 table request).
TEST_F(EnrpServerTest, OnlyTwoDisagreeingPresencesInARowResync) {
  AddPes(7, 100, 2);
  Message presence = Of(EnrpType::kPresence);
  presence.has_checksum = true;
  presence.checksum = 0x1234;  // not the checksum of 7's two PEs
  From(7, presence);
  for (int i = 0; i < 3; ++i) {  // three audits (500 ms cycle), no new word
    Advance(500);
    From(7, Of(EnrpType::kPresence));  // heard, without a checksum
  }
  EXPECT_EQ(enrp_.stats().checksum_mismatches.load(), 1u);
  EXPECT_TRUE(out_.Of(EnrpType::kHandleTableRequest, 10007).empty());
  From(7, presence);
  Advance(500);
  EXPECT_EQ(enrp_.stats().checksum_mismatches.load(), 2u);
  const std::vector<Message> requests = out_.Of(EnrpType::kHandleTableRequest, 10007);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(requests[0].flags & protocol::kFlagOwnChildrenOnly);
}

// An operator's tool (Sending Server ID 0) is listed every peer, each with
// its state and the time since it was last heard (Peer Status parameter);
// a peer is listed the active ones only (RFC 5353 §2.6).
TEST_F(EnrpServerTest, ToolsAreToldEveryPeersStateAndLastHeard) {
  From(7, Of(EnrpType::kPresence));
  From(2, Of(EnrpType::kPresence));
  Advance(300);
  From(7, Of(EnrpType::kInitTakeover, 2));  // 2 is inactive here now
  out_.sent.clear();
  From(0, Of(EnrpType::kListRequest));
  std::vector<Message> tool = out_.Of(EnrpType::kListResponse, 0);
  ASSERT_EQ(tool.size(), 1u);
  std::map<uint32_t, protocol::ServerInformation> listed;
  for (const protocol::ServerInformation& s : tool[0].servers) listed[s.server_id] = s;
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_FALSE(listed[kSelf].has_peer_status);
  ASSERT_TRUE(listed[2].has_peer_status);
  EXPECT_EQ(listed[2].peer_state, protocol::PeerState::kInactive);
  EXPECT_EQ(listed[2].last_heard_ms, 300u);
  ASSERT_TRUE(listed[7].has_peer_status);
  EXPECT_EQ(listed[7].peer_state, protocol::PeerState::kActive);
  EXPECT_EQ(listed[7].last_heard_ms, 0u);

  out_.sent.clear();
  From(7, Of(EnrpType::kListRequest));
  std::vector<Message> peer = out_.Of(EnrpType::kListResponse, 10007);
  ASSERT_EQ(peer.size(), 1u);
  EXPECT_EQ(peer[0].servers.size(), 2u) << "a peer is not listed the inactive one";
  for (const protocol::ServerInformation& s : peer[0].servers) EXPECT_FALSE(s.has_peer_status);
}

// A liar's INIT_TAKEOVER of a registrar we still hear (sent to us alone, so
// the target never answered it) hands nothing over, however long its
// TAKEOVER_SERVER stays away.
TEST_F(EnrpServerTest, AnInitTakeoverOfARegistrarWeHearHandsNothingOver) {
  AddPes(2, 100, 2);
  From(7, Of(EnrpType::kPresence));
  From(7, Of(EnrpType::kInitTakeover, 2));
  for (int i = 0; i < 12; ++i) {  // 6 s: past expiry + max-time-no-response
    Advance(500);
    From(7, Of(EnrpType::kPresence));
    AddPes(2, 100, 1);  // 2 speaks (a re-registration's update), no PRESENCE
  }
  EXPECT_EQ(OwnedBy(2), 2u);
  EXPECT_EQ(OwnedBy(7), 0u);
  EXPECT_EQ(enrp_.stats().takeovers_implied.load(), 0u);
  From(7, Of(EnrpType::kInitTakeoverAck, 2));  // nor does its "yielding" ACK
  EXPECT_EQ(enrp_.stats().takeovers_resumed.load(), 0u);
  EXPECT_EQ(OwnedBy(kSelf), 0u);
}

// RSPLIB asks for the table before it sends its PRESENCE, which tells the
// unit of its lifetimes: the request waits for it. One that never tells is
// served after MAX-TIME-NO-RESPONSE, in the RFC's seconds.
TEST_F(EnrpServerTest, ATableRequestWaitsForTheRequestersPresence) {
  const protocol::PoolElement pe = testing::Pe(100, 2);
  Introduce(2);
  From(2, testing::AddPeUpdate("p", pe));
  const auto lives_sent_to = [&](uint32_t id) {
    std::vector<int32_t> lives;
    for (const Message& r :
         out_.Of(EnrpType::kHandleTableResponse, static_cast<uint16_t>(10000 + id))) {
      for (const protocol::PoolEntry& entry : r.pool_entries) {
        for (const protocol::PoolElementView& e : entry.elements)
          lives.push_back(e.registration_life);
      }
    }
    return lives;
  };
  From(8, Of(EnrpType::kHandleTableRequest));  // RSPLIB, before its PRESENCE
  EXPECT_TRUE(lives_sent_to(8).empty());
  From(8, PresenceWithServerInformation(0));
  EXPECT_EQ(lives_sent_to(8), std::vector<int32_t>{30000});
  From(9, Of(EnrpType::kHandleTableRequest));  // never introduces itself
  Advance(500);
  EXPECT_TRUE(lives_sent_to(9).empty());
  Advance(1000);
  EXPECT_EQ(lives_sent_to(9), std::vector<int32_t>{30});
}

}  // namespace
}  // namespace rspd::control
