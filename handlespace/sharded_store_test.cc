// File: handlespace/sharded_store_test.cc
//
// Property test: a random sequence of registrations, re-registrations (also
// at other registrars), ENRP updates, deregistrations, expiries, takeovers
// and mark-and-sweep resyncs, run on three pool tables that pools are spread
// over by ShardOf, as the registrar's shards hold them, matches a std::map reference model after
// every step: the set of PEs with all their attributes, the shard each lives in, every rejection
// cause (RFC 5352 §3.1), and every owner's PE checksum (RFC 5353 §3.6.2,
// recomputed from scratch with RFC 1071).

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "handlespace/pool_table.h"
#include "handlespace/prng.h"
#include "handlespace/shard_of.h"
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
  ShardedStore() {
    for (uint32_t k = 0; k < kShards; ++k) {
      tables_.push_back(std::make_unique<PoolTable>(PoolTable::Options()));
      rngs_.emplace_back(100 + k);
    }
  }

  PoolTable& For(const std::string& handle) { return *tables_[ShardOf(handle, kShards)]; }
  Prng& RngFor(const std::string& handle) { return rngs_[ShardOf(handle, kShards)]; }
  const std::vector<std::unique_ptr<PoolTable>>& tables() { return tables_; }

  // Every PE of every table, via chunked iteration; each in the table of its
  // pool's shard.
  std::map<Key, protocol::PoolElement> Snapshot() {
    std::map<Key, protocol::PoolElement> all;
    for (uint32_t k = 0; k < kShards; ++k) {
      uint32_t cursor = 0;
      do {
        std::vector<uint32_t> slots;
        cursor = tables_[k]->IterateChunk(cursor, 7, &slots);
        for (uint32_t slot : slots) {
          const std::string handle(tables_[k]->pool_handle(slot));
          EXPECT_EQ(ShardOf(handle, kShards), k) << handle;
          const protocol::PoolElement pe = tables_[k]->GetElement(slot);
          EXPECT_TRUE(all.emplace(Key(handle, pe.id), pe).second);
        }
      } while (cursor != kIterationDone);
    }
    return all;
  }

  uint16_t Checksum(RegistrarId owner) {
    std::vector<uint64_t> sums;
    for (const auto& table : tables_) {
      sums.push_back(table->ChecksumWordSum(owner));
    }
    return CombineChecksum(sums);
  }

 private:
  std::vector<std::unique_ptr<PoolTable>> tables_;
  std::vector<Prng> rngs_;
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
      ASSERT_EQ(store.For(handle).Register(handle, pe, expiry).cause,
                model.Register(handle, pe, expiry));
    } else if (op < 70) {
      ASSERT_EQ(store.For(handle).Deregister(handle, id), model.Deregister(handle, id));
    } else if (op < 80) {
      now += rng.Uniform(150);
      std::set<Key> removed;
      for (const auto& table : store.tables()) {
        std::vector<ElementEntry> entries;
        table->Expire(now, &entries);
        const std::set<Key> k = Keys(entries);
        removed.insert(k.begin(), k.end());
      }
      ASSERT_EQ(removed, model.Expire(now));
    } else if (op < 87) {
      // RFC 5353 §3.5.2 takeover of a failed registrar.
      const RegistrarId from = static_cast<RegistrarId>(1 + rng.Uniform(kOwners));
      const RegistrarId to = static_cast<RegistrarId>(1 + rng.Uniform(kOwners));
      size_t moved = 0;
      for (const auto& table : store.tables()) {
        moved += table->TakeOver(from, to);
      }
      ASSERT_EQ(moved, model.TakeOver(from, to));
    } else if (op < 93) {
      const RegistrarId owner = static_cast<RegistrarId>(1 + rng.Uniform(kOwners));
      size_t marked = 0;
      for (const auto& table : store.tables()) {
        marked += table->MarkOwner(owner);
      }
      ASSERT_EQ(marked, model.Mark(owner));
    } else if (op < 97) {
      const RegistrarId owner = static_cast<RegistrarId>(1 + rng.Uniform(kOwners));
      std::set<Key> removed;
      for (const auto& table : store.tables()) {
        std::vector<ElementEntry> entries;
        table->SweepOwner(owner, &entries);
        const std::set<Key> k = Keys(entries);
        removed.insert(k.begin(), k.end());
      }
      ASSERT_EQ(removed, model.Sweep(owner));
    } else {
      // Resolution: answers come from the pool, without duplicates.
      const ResolveOptions options{static_cast<uint32_t>(1 + rng.Uniform(5)), 0};
      PoolTable& table = store.For(handle);
      uint32_t selected[kMaxResolutionItems];
      size_t count = 0;
      const Cause cause = table.Resolve(handle, options, store.RngFor(handle), selected, &count);
      size_t in_pool = 0;
      for (const auto& [key, m] : model.pes()) {
        in_pool += key.first == handle;
      }
      if (in_pool == 0) {
        ASSERT_EQ(cause, Cause::kUnknownPoolHandle);
      } else {
        ASSERT_EQ(cause, kNoError);
        ASSERT_EQ(count, std::min<size_t>(in_pool, options.max_items));
        std::set<PoolElementId> ids;
        for (size_t i = 0; i < count; ++i) {
          ASSERT_EQ(table.pool_handle(selected[i]), handle);
          ids.insert(table.element_id(selected[i]));
          ASSERT_EQ(model.pes().count(Key(handle, table.element_id(selected[i]))), 1u);
        }
        ASSERT_EQ(ids.size(), count);
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
