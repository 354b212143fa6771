// File: handlespace/sharded_store_test.cc
//
// Property test: a random sequence of registrations, re-registrations (also
// at other registrars), ENRP updates, deregistrations, expiries, takeovers
// and mark-and-sweep resyncs, run on three shards through the router and the
// rings, matches a std::map reference model after every step: the set of
// PEs with all their attributes, the shard each lives in, every rejection
// cause (RFC 5352 §3.1), and every owner's PE checksum (RFC 5353 §3.6.2,
// recomputed from scratch with RFC 1071).

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "handlespace/router.h"
#include "handlespace/shard.h"
#include "handlespace/testing/test_util.h"

namespace rspd::handlespace {
namespace {

using testing::ReferenceChecksum;

constexpr uint32_t kShards = 3;
constexpr RegistrarId kOwners = 4;  // owners 1..4

struct ModelPe {
  protocol::PoolElement pe;
  Tick expiry = kNever;
  bool marked = false;
};
using Key = std::pair<std::string, PoolElementId>;

class ShardedStore {
 public:
  ShardedStore() : router_(kShards, 16) {
    for (uint32_t k = 0; k < kShards; ++k) {
      HandlespaceShard::Options options;
      options.seed = 100 + k;
      shards_.push_back(std::make_unique<HandlespaceShard>(k, options));
    }
  }

  // Sends `r` to its pool's shard, lets the shard poll, and takes the answer.
  void Run(ShardRequest& r) { RunOn(router_.ShardFor(r.handle), r); }

  void RunOn(uint32_t k, ShardRequest& r) {
    ASSERT_TRUE(router_.SendToShard(k, &r));
    ASSERT_EQ(shards_[k]->Poll(router_.shard_in(k), router_.shard_out(k)), 1u);
    ShardRequest* answer = nullptr;
    ASSERT_EQ(router_.Receive(k, absl::MakeSpan(&answer, 1)), 1u);
    ASSERT_EQ(answer, &r);
  }

  // Runs a copy of `r` on every shard; returns the answers.
  std::vector<ShardRequest> Broadcast(const ShardRequest& r) {
    std::vector<ShardRequest> answers(kShards, r);
    for (uint32_t k = 0; k < kShards; ++k) {
      RunOn(k, answers[k]);
    }
    return answers;
  }

  // Every PE of every shard, via chunked iteration.
  std::map<Key, protocol::PoolElement> Snapshot() {
    std::map<Key, protocol::PoolElement> all;
    for (uint32_t k = 0; k < kShards; ++k) {
      ShardRequest r;
      r.op = ShardOp::kIterateChunk;
      r.max = 7;
      r.cursor = 0;
      do {
        RunOn(k, r);
        for (const ElementEntry& e : r.entries) {
          EXPECT_EQ(ShardOf(e.handle, kShards), k) << e.handle;
          EXPECT_TRUE(all.emplace(Key(e.handle, e.pe.id), e.pe).second);
        }
      } while (r.cursor != kIterationDone);
    }
    return all;
  }

  uint16_t Checksum(RegistrarId owner) {
    ShardRequest r;
    r.op = ShardOp::kChecksum;
    r.owner = owner;
    std::vector<uint64_t> sums;
    for (const ShardRequest& a : Broadcast(r)) {
      sums.push_back(a.word_sum);
    }
    return CombineChecksum(sums);
  }

 private:
  HandlespaceRouter router_;
  std::vector<std::unique_ptr<HandlespaceShard>> shards_;
};

class Model {
 public:
  Cause Register(const std::string& handle, const protocol::PoolElement& pe, Tick expiry) {
    for (const auto& [key, m] : pes_) {
      if (key.first != handle) {
        continue;
      }
      // RFC 5352 §3.1 rules 2-3, in the RFC's order.
      if (m.pe.policy.type != pe.policy.type) {
        return Cause::kInconsistentPoolingPolicy;
      }
      if (m.pe.user.type != pe.user.type) {
        return Cause::kInconsistentTransportType;
      }
      if (m.pe.user.use != pe.user.use) {
        return Cause::kInconsistentDataControlConfiguration;
      }
      break;
    }
    ModelPe& m = pes_[Key(handle, pe.id)];
    m.pe = pe;
    m.pe.policy = pe.policy.Normalized();
    m.expiry = expiry;
    m.marked = false;
    return kNoError;
  }
  bool Deregister(const std::string& handle, PoolElementId id) {
    return pes_.erase(Key(handle, id)) == 1;
  }
  std::set<Key> Expire(Tick now) {
    std::set<Key> gone;
    for (auto it = pes_.begin(); it != pes_.end();) {
      if (it->second.expiry <= now) {
        gone.insert(it->first);
        it = pes_.erase(it);
      } else {
        ++it;
      }
    }
    return gone;
  }
  size_t TakeOver(RegistrarId from, RegistrarId to) {
    size_t n = 0;
    for (auto& [key, m] : pes_) {
      if (m.pe.home == from && from != to) {
        m.pe.home = to;
        ++n;
      }
    }
    return n;
  }
  size_t Mark(RegistrarId owner) {
    size_t n = 0;
    for (auto& [key, m] : pes_) {
      if (m.pe.home == owner) {
        m.marked = true;
        ++n;
      }
    }
    return n;
  }
  std::set<Key> Sweep(RegistrarId owner) {
    std::set<Key> gone;
    for (auto it = pes_.begin(); it != pes_.end();) {
      if (it->second.pe.home == owner && it->second.marked) {
        gone.insert(it->first);
        it = pes_.erase(it);
      } else {
        ++it;
      }
    }
    return gone;
  }
  uint16_t Checksum(RegistrarId owner) const {
    std::vector<std::pair<std::string, uint32_t>> blocks;
    for (const auto& [key, m] : pes_) {
      if (m.pe.home == owner) {
        blocks.push_back(key);
      }
    }
    return ReferenceChecksum(blocks);
  }
  std::map<Key, protocol::PoolElement> Snapshot() const {
    std::map<Key, protocol::PoolElement> all;
    for (const auto& [key, m] : pes_) {
      all.emplace(key, m.pe);
    }
    return all;
  }
  const std::map<Key, ModelPe>& pes() const { return pes_; }

 private:
  std::map<Key, ModelPe> pes_;
};

std::set<Key> Keys(const std::vector<ElementEntry>& entries) {
  std::set<Key> keys;
  for (const ElementEntry& e : entries) {
    keys.emplace(e.handle, e.pe.id);
  }
  return keys;
}

TEST(ShardedStoreTest, MatchesReferenceModelAfterEveryStep) {
  ShardedStore store;
  Model model;
  Prng rng(4242);
  Tick now = 0;
  const PolicyType kPolicies[] = {PolicyType::kRoundRobin, PolicyType::kLeastUsed,
                                  PolicyType::kRandom, PolicyType::kLeastUsedWithDegradation};
  std::map<std::string, PolicyType> pool_policy;  // the policy most registrations use
  for (int step = 0; step < 1500; ++step) {
    SCOPED_TRACE(step);
    const std::string handle = "pool" + std::to_string(rng.Uniform(10));
    if (!pool_policy.count(handle)) {
      pool_policy[handle] = kPolicies[rng.Uniform(4)];
    }
    const PoolElementId id = static_cast<PoolElementId>(1 + rng.Uniform(25)) * 2654435761u;
    const uint64_t op = rng.Uniform(100);
    if (op < 55) {
      // Registration, re-registration (maybe at another registrar), or ENRP ADD_PE.
      protocol::PoolElement pe = testing::MakePe(
          id, static_cast<RegistrarId>(1 + rng.Uniform(3)), pool_policy[handle],
          static_cast<uint32_t>(rng.Uniform(1000)), static_cast<uint32_t>(rng.Uniform(50)));
      if (rng.Uniform(20) == 0) {
        pe.policy.type = kPolicies[rng.Uniform(4)];
      }
      if (rng.Uniform(30) == 0) {
        pe.user.type = ParamType::kTcpTransport;
      }
      if (rng.Uniform(30) == 0) {
        pe.user.use = TransportUse::kDataPlusControl;
      }
      if (rng.Uniform(10) == 0) {
        pe.user.addresses.push_back(protocol::IpAddress::V4(0xc0000201));
        pe.user.addresses.push_back(protocol::IpAddress::V4(0xc0000202));
        pe.user.addresses.push_back(protocol::IpAddress::V4(0xc0000203));
        pe.user.addresses.push_back(protocol::IpAddress::V4(0xc0000204));  // spills
      }
      const Tick expiry = rng.Uniform(4) == 0 ? kNever : now + 1 + rng.Uniform(400);
      ShardRequest r;
      r.op = rng.Uniform(4) == 0 ? ShardOp::kPeerUpdate : ShardOp::kRegister;
      r.handle = handle;
      r.pe = pe;
      r.tick = expiry;
      store.Run(r);
      ASSERT_EQ(r.cause, model.Register(handle, pe, expiry));
    } else if (op < 70) {
      ShardRequest r;
      r.op = rng.Uniform(2) == 0 ? ShardOp::kDeregister : ShardOp::kPeerRemove;
      r.handle = handle;
      r.pe_id = id;
      store.Run(r);
      ASSERT_EQ(r.found, model.Deregister(handle, id));
    } else if (op < 80) {
      now += rng.Uniform(150);
      ShardRequest r;
      r.op = ShardOp::kExpire;
      r.tick = now;
      std::set<Key> removed;
      for (const ShardRequest& a : store.Broadcast(r)) {
        const std::set<Key> k = Keys(a.entries);
        removed.insert(k.begin(), k.end());
      }
      ASSERT_EQ(removed, model.Expire(now));
    } else if (op < 87) {
      // RFC 5353 §3.5.2 takeover of a failed registrar.
      const RegistrarId from = static_cast<RegistrarId>(1 + rng.Uniform(kOwners));
      const RegistrarId to = static_cast<RegistrarId>(1 + rng.Uniform(kOwners));
      ShardRequest r;
      r.op = ShardOp::kTakeOver;
      r.owner = from;
      r.to_owner = to;
      size_t moved = 0;
      for (const ShardRequest& a : store.Broadcast(r)) {
        moved += a.count;
      }
      ASSERT_EQ(moved, model.TakeOver(from, to));
    } else if (op < 93) {
      ShardRequest r;
      r.op = ShardOp::kMarkOwner;
      r.owner = static_cast<RegistrarId>(1 + rng.Uniform(kOwners));
      size_t marked = 0;
      for (const ShardRequest& a : store.Broadcast(r)) {
        marked += a.count;
      }
      ASSERT_EQ(marked, model.Mark(r.owner));
    } else if (op < 97) {
      ShardRequest r;
      r.op = ShardOp::kSweepOwner;
      r.owner = static_cast<RegistrarId>(1 + rng.Uniform(kOwners));
      std::set<Key> removed;
      for (const ShardRequest& a : store.Broadcast(r)) {
        const std::set<Key> k = Keys(a.entries);
        removed.insert(k.begin(), k.end());
      }
      ASSERT_EQ(removed, model.Sweep(r.owner));
    } else {
      // Resolution: answers come from the pool, without duplicates.
      ShardRequest r;
      r.op = ShardOp::kResolve;
      r.handle = handle;
      r.resolve = {static_cast<uint32_t>(1 + rng.Uniform(5)), 0};
      store.Run(r);
      size_t in_pool = 0;
      for (const auto& [key, m] : model.pes()) {
        in_pool += key.first == handle;
      }
      if (in_pool == 0) {
        ASSERT_EQ(r.cause, Cause::kUnknownPoolHandle);
      } else {
        ASSERT_EQ(r.cause, kNoError);
        ASSERT_EQ(r.count, std::min<size_t>(in_pool, r.resolve.max_items));
        ASSERT_EQ(Keys(r.entries).size(), r.count);
        for (const ElementEntry& e : r.entries) {
          ASSERT_EQ(model.pes().count(Key(e.handle, e.pe.id)), 1u);
        }
      }
    }
    ASSERT_EQ(store.Snapshot(), model.Snapshot());
    for (RegistrarId owner = 1; owner <= kOwners; ++owner) {
      ASSERT_EQ(store.Checksum(owner), model.Checksum(owner)) << "owner " << owner;
    }
  }
}

}  // namespace
}  // namespace rspd::handlespace
