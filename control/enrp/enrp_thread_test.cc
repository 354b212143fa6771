// The ENRP server on its control thread (EnrpThread), and inline: what
// arrives on the I/O thread reaches it, what it sends and submits runs on the
// I/O thread (RunOutbox), and Stop leaves nothing in flight. Run under TSan
// too (tag "threads"): the test's thread plays the I/O thread.

#include "control/enrp/enrp_thread.h"

#include <chrono>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "control/asap/asap_server.h"
#include "control/enrp/testing/enrp_test_util.h"
#include "dataplane/shard_executor.h"
#include "gtest/gtest.h"

namespace rspd::control {
namespace {

using protocol::EnrpType;
using protocol::Message;

using testing::Recorder;

// Both ways: on a thread of its own (true), and inline at each Flush.
class EnrpThreadTest : public ::testing::TestWithParam<bool> {
 protected:
  EnrpThreadTest()
      : shards_({}),
        asap_(Config(), &shards_, &out_, nullptr, &out_),
        enrp_(Config(), &shards_, &out_, &out_, &asap_) {
    asap_.set_observer(&enrp_);
    enrp_.Start(9899, now_);
  }

  RegistrarConfig Config() const {
    RegistrarConfig config;
    config.server_id = 5;
    config.enrp_thread = GetParam();
    config.peer_heartbeat_cycle = absl::Milliseconds(200);
    return config;
  }

  // Peer `id` (at UDP port 10000 + id) sends `m`, as the I/O thread hands it.
  void From(uint32_t id, Message m) {
    m.protocol = protocol::Protocol::kEnrp;
    m.sender_id = id;
    const std::vector<uint8_t> bytes = protocol::EncodeMessageToVector(m);
    enrp_.OnMessage(testing::FromPeer(id, this, bytes));  // copies the bytes
  }

  // Plays the I/O loop until `done` holds (5 s at most).
  bool PumpUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      enrp_.RunOutbox(now_);
      CollectShardAnswers(shards_, asap_, enrp_, now_);
      enrp_.Flush(now_);
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ++now_;  // the loop's clock: inline, the server's timers run on it
    }
    return false;
  }

  size_t OwnedBy(uint32_t owner) const { return shards_.shard(0).table().OwnedCount(owner); }

  uint64_t now_ = 1000;
  Recorder out_;
  dataplane::ShardExecutor shards_;
  AsapServer asap_;
  EnrpThread enrp_;
};

TEST_P(EnrpThreadTest, APeersUpdateReachesTheShardAndOurChangesReachThePeer) {
  Message presence;
  presence.type = static_cast<uint8_t>(EnrpType::kPresence);
  From(7, presence);
  const protocol::PoolElement theirs = testing::Pe(100, 7);
  From(7, testing::AddPeUpdate("p", theirs));
  ASSERT_TRUE(PumpUntil([&] { return OwnedBy(7) == 1; })) << "the update never reached the shard";
  EXPECT_EQ(enrp_.stats().updates_received.load(), 1u);
  EXPECT_EQ(enrp_.peer_count(), 1u);

  // A PE of ours changes (the ASAP server's observer, on the I/O thread):
  // the peer gets a HANDLE_UPDATE, sent from the I/O thread.
  enrp_.OnOwnedPeRegistered("q", testing::Pe(200, 5));
  ASSERT_TRUE(PumpUntil([&] { return out_.Of(EnrpType::kHandleUpdate, 10007).size() == 1; }));
  for (const std::thread::id& sender : out_.senders) {
    EXPECT_EQ(sender, std::this_thread::get_id()) << "sent from the ENRP thread";
  }
  // Its PRESENCEs keep coming, from its own timers.
  const size_t presences = out_.Of(EnrpType::kPresence, 10007).size();
  ASSERT_TRUE(PumpUntil([&] { return out_.Of(EnrpType::kPresence, 10007).size() > presences; }));
}

TEST_P(EnrpThreadTest, StopLeavesNoShardCommandInFlight) {
  Message presence;
  presence.type = static_cast<uint8_t>(EnrpType::kPresence);
  From(7, presence);
  for (uint32_t i = 0; i < 200; ++i) {
    const protocol::PoolElement pe = testing::Pe(1000 + i, 7);
    From(7, testing::AddPeUpdate("p", pe));
  }
  // No pumping: the commands wait in the outbox, some maybe in the inbox.
  enrp_.Stop();
  EXPECT_EQ(enrp_.server().in_flight(), 0u);
  EXPECT_EQ(enrp_.stats().updates_received.load(), 200u);
  EXPECT_EQ(OwnedBy(7), 200u);
}

INSTANTIATE_TEST_SUITE_P(ThreadedAndInline, EnrpThreadTest, ::testing::Bool());

}  // namespace
}  // namespace rspd::control
