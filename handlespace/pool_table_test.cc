// File: handlespace/pool_table_test.cc
//
// Pool rules (RFC 5352 §3.1-3.3), ownership and checksums (RFC 5353 §3.5,
// §3.6), expiry, resync and chunked iteration of the PoolTable.

#include "handlespace/pool_table.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "handlespace/testing/test_util.h"

namespace rspd::handlespace {
namespace {

using testing::MakePe;
using testing::ReferenceChecksum;

constexpr RegistrarId kPr1 = 0x1;
constexpr RegistrarId kPr2 = 0x2;

TEST(RegistrationTest, FirstPeCreatesPoolWithItsPolicy) {
  // RFC 5352 §3.1 rule 1.
  PoolTable table;
  const RegisterResult r = table.Register("echo", MakePe(1, kPr1), kNever);
  EXPECT_EQ(r.cause, kNoError);
  EXPECT_TRUE(r.added);
  EXPECT_TRUE(r.pool_created);
  PolicyType type;
  ASSERT_TRUE(table.PoolPolicy("echo", &type));
  EXPECT_EQ(type, PolicyType::kRoundRobin);
  EXPECT_EQ(table.PoolSize("echo"), 1u);
  EXPECT_EQ(table.GetElement(r.slot), MakePe(1, kPr1));
}

// RFC 5352 §3.1 rule 5: new PEs past a cap get Lack of Resources, naming
// the cap; re-registrations of PEs held never do.
TEST(RegistrationTest, CapsRefuseNewPesButNeverReRegistrations) {
  PoolTable::Options options;
  options.max_pool_elements = 5;
  options.max_pools = 2;
  options.max_pool_size = 3;
  PoolTable table(options);
  for (PoolElementId id = 1; id <= 3; ++id) {
    ASSERT_EQ(table.Register("a", MakePe(id, kPr1), kNever).cause, kNoError);
  }
  RegisterResult full = table.Register("a", MakePe(4, kPr1), kNever);
  EXPECT_EQ(full.cause, Cause::kLackOfResources);
  EXPECT_EQ(full.limit, CapacityLimit::kPoolSize);
  ASSERT_EQ(table.Register("b", MakePe(5, kPr1), kNever).cause, kNoError);
  RegisterResult pools = table.Register("c", MakePe(6, kPr1), kNever);
  EXPECT_EQ(pools.cause, Cause::kLackOfResources);
  EXPECT_EQ(pools.limit, CapacityLimit::kPools);
  EXPECT_EQ(table.pool_count(), 2u);
  ASSERT_EQ(table.Register("b", MakePe(7, kPr1), kNever).cause, kNoError);
  RegisterResult elements = table.Register("b", MakePe(8, kPr1), kNever);
  EXPECT_EQ(elements.cause, Cause::kLackOfResources);
  EXPECT_EQ(elements.limit, CapacityLimit::kPoolElements);
  // At every cap at once, the PEs held re-register.
  EXPECT_EQ(table.Register("a", MakePe(2, kPr1), kNever).cause, kNoError);
  EXPECT_EQ(table.Register("b", MakePe(5, kPr1), kNever).cause, kNoError);
  EXPECT_EQ(table.element_count(), 5u);
}

TEST(RegistrationTest, RejectsInconsistentPolicy) {
  // RFC 5352 §3.1 rule 2: policy type differs -> cause 0x5.
  PoolTable table;
  ASSERT_EQ(table.Register("p", MakePe(1, kPr1), kNever).cause, kNoError);
  EXPECT_EQ(table.Register("p", MakePe(2, kPr1, PolicyType::kLeastUsed, 5), kNever).cause,
            Cause::kInconsistentPoolingPolicy);
  EXPECT_EQ(table.PoolSize("p"), 1u);
}

TEST(RegistrationTest, RejectsInconsistentTransportType) {
  // RFC 5352 §3.1 rule 2: transport type differs -> cause 0x7.
  PoolTable table;
  ASSERT_EQ(table.Register("p", MakePe(1, kPr1), kNever).cause, kNoError);
  protocol::PoolElement pe = MakePe(2, kPr1);
  pe.user.type = ParamType::kTcpTransport;
  EXPECT_EQ(table.Register("p", pe, kNever).cause, Cause::kInconsistentTransportType);
}

TEST(RegistrationTest, RejectsInconsistentDataControlConfiguration) {
  // RFC 5352 §3.1 rule 2: transport use differs -> cause 0x8.
  PoolTable table;
  ASSERT_EQ(table.Register("p", MakePe(1, kPr1), kNever).cause, kNoError);
  protocol::PoolElement pe = MakePe(2, kPr1);
  pe.user.use = TransportUse::kDataPlusControl;
  EXPECT_EQ(table.Register("p", pe, kNever).cause, Cause::kInconsistentDataControlConfiguration);
}

TEST(RegistrationTest, ReRegistrationRunsTheSameChecks) {
  // RFC 5352 §3.1 rule 3: the checks apply to a re-registering member too.
  PoolTable table;
  ASSERT_EQ(table.Register("p", MakePe(1, kPr1), kNever).cause, kNoError);
  ASSERT_EQ(table.Register("p", MakePe(2, kPr1), kNever).cause, kNoError);
  EXPECT_EQ(table.Register("p", MakePe(2, kPr1, PolicyType::kRandom), kNever).cause,
            Cause::kInconsistentPoolingPolicy);
  protocol::PoolElement pe = MakePe(2, kPr1);
  pe.user.type = ParamType::kUdpTransport;
  EXPECT_EQ(table.Register("p", pe, kNever).cause, Cause::kInconsistentTransportType);
  EXPECT_EQ(table.GetElement(table.Find("p", 2)), MakePe(2, kPr1));
}

TEST(RegistrationTest, PoolAttributesComeFromTheFirstPe) {
  // RFC 5352 §3.1 rule 1; the ASAP layer quotes them in a rejection.
  PoolTable table;
  protocol::PoolElement pe = MakePe(1, kPr1, PolicyType::kLeastUsed, 7);
  pe.user.use = TransportUse::kDataPlusControl;
  ASSERT_EQ(table.Register("p", pe, kNever).cause, kNoError);
  PoolAttributes a;
  ASSERT_TRUE(table.GetPoolAttributes("p", &a));
  EXPECT_EQ(a.policy, PolicyType::kLeastUsed);
  EXPECT_EQ(a.transport, ParamType::kSctpTransport);
  EXPECT_EQ(a.use, TransportUse::kDataPlusControl);
  EXPECT_EQ(a.size, 1u);
  EXPECT_FALSE(table.GetPoolAttributes("q", &a));
}

TEST(RegistrationTest, DccpServiceCodeIsKept) {
  // RFC 5354 §3.3: the DCCP transport carries a service code.
  PoolTable table;
  protocol::PoolElement pe = MakePe(1, kPr1);
  pe.user.type = ParamType::kDccpTransport;
  pe.user.dccp_service_code = 0x12345678;
  const RegisterResult r = table.Register("d", pe, kNever);
  ASSERT_EQ(r.cause, kNoError);
  EXPECT_EQ(table.GetElement(r.slot), pe);
  pe.user.dccp_service_code = 42;
  ASSERT_EQ(table.Register("d", pe, kNever).cause, kNoError);
  EXPECT_EQ(table.GetElement(r.slot).user.dccp_service_code, 42u);
  EXPECT_TRUE(table.Deregister("d", 1));
  ASSERT_EQ(table.Register("d", MakePe(1, kPr1), kNever).cause, kNoError);  // slot reused, SCTP
  EXPECT_EQ(table.GetElement(table.Find("d", 1)).user.dccp_service_code, 0u);
}

TEST(RegistrationTest, RejectsInvalidValues) {
  // RFC 5352 §3.1 rule 5.
  PoolTable table;
  EXPECT_EQ(table.Register("", MakePe(1, kPr1), kNever).cause, Cause::kInvalidValues);
  EXPECT_EQ(table.Register(std::string(256, 'x'), MakePe(1, kPr1), kNever).cause,
            Cause::kInvalidValues);
  protocol::PoolElement pe = MakePe(1, kPr1);
  pe.policy.type = static_cast<PolicyType>(0x40000000);  // RFC 5356 §7: invalid
  EXPECT_EQ(table.Register("p", pe, kNever).cause, Cause::kInvalidValues);
  pe = MakePe(1, kPr1);
  pe.user.addresses.size = 0;
  EXPECT_EQ(table.Register("p", pe, kNever).cause, Cause::kInvalidValues);
  pe = MakePe(1, kPr1);
  pe.user.type = ParamType::kOpaqueTransport;
  EXPECT_EQ(table.Register("p", pe, kNever).cause, Cause::kInvalidValues);
  EXPECT_EQ(table.pool_count(), 0u);
}

TEST(RegistrationTest, RejectsBeyondCapacityWithLackOfResources) {
  PoolTable::Options options;
  options.max_pool_elements = 2;
  PoolTable table(options);
  ASSERT_EQ(table.Register("p", MakePe(1, kPr1), kNever).cause, kNoError);
  ASSERT_EQ(table.Register("q", MakePe(2, kPr1), kNever).cause, kNoError);
  EXPECT_EQ(table.Register("r", MakePe(3, kPr1), kNever).cause, Cause::kLackOfResources);
  EXPECT_EQ(table.pool_count(), 2u);
  // Re-registration still works at capacity.
  EXPECT_EQ(table.Register("p", MakePe(1, kPr1), kNever).cause, kNoError);
}

TEST(RegistrationTest, ReRegistrationUpdatesInPlace) {
  PoolTable table;
  const RegisterResult first =
      table.Register("p", MakePe(7, kPr1, PolicyType::kLeastUsed, 10), kNever);
  protocol::PoolElement pe = MakePe(7, kPr1, PolicyType::kLeastUsed, 99);
  pe.user.port = 4242;
  pe.registration_life = 77;
  const RegisterResult again = table.Register("p", pe, kNever);
  EXPECT_EQ(again.cause, kNoError);
  EXPECT_FALSE(again.added);
  EXPECT_EQ(again.slot, first.slot);
  EXPECT_EQ(table.element_count(), 1u);
  EXPECT_EQ(table.GetElement(again.slot), pe);
}

TEST(RegistrationTest, RegistrationAtNewRegistrarMovesOwnership) {
  // RFC 5352 §3.1 rule 4; the checksum block moves from PR1 to PR2.
  PoolTable table;
  ASSERT_EQ(table.Register("p", MakePe(1, kPr1), kNever).cause, kNoError);
  ASSERT_EQ(table.Register("p", MakePe(2, kPr1), kNever).cause, kNoError);
  const RegisterResult r = table.Register("p", MakePe(2, kPr2), kNever);
  EXPECT_EQ(r.previous_home, kPr1);
  EXPECT_EQ(table.home(r.slot), kPr2);
  EXPECT_EQ(table.OwnedCount(kPr1), 1u);
  EXPECT_EQ(table.OwnedCount(kPr2), 1u);
  EXPECT_EQ(table.Checksum(kPr1), ReferenceChecksum({{"p", 1}}));
  EXPECT_EQ(table.Checksum(kPr2), ReferenceChecksum({{"p", 2}}));
}

TEST(DeregistrationTest, LastPeDeletesPoolAndFreesPolicy) {
  // RFC 5352 §3.2: the pool goes with its last PE; a new first PE may then
  // bring a different policy.
  PoolTable table;
  ASSERT_EQ(table.Register("p", MakePe(1, kPr1), kNever).cause, kNoError);
  ElementEntry removed;
  EXPECT_TRUE(table.Deregister("p", 1, &removed));
  EXPECT_EQ(removed.handle, "p");
  EXPECT_EQ(removed.pe, MakePe(1, kPr1));
  EXPECT_FALSE(table.Deregister("p", 1));
  EXPECT_EQ(table.pool_count(), 0u);
  EXPECT_EQ(table.Checksum(kPr1), 0xffff);
  EXPECT_EQ(table.Register("p", MakePe(1, kPr1, PolicyType::kRandom), kNever).cause, kNoError);
}

TEST(ResolutionTest, UnknownPoolHandle) {
  // RFC 5352 §3.3.
  PoolTable table;
  Prng rng(1);
  uint32_t out[kMaxResolutionItems];
  size_t n = 9;
  EXPECT_EQ(table.Resolve("nope", {}, rng, out, &n), Cause::kUnknownPoolHandle);
  EXPECT_EQ(n, 0u);
}

TEST(AddressTest, InlineAndSpilledAddressesRoundTrip) {
  PoolTable table;
  protocol::PoolElement v6 = MakePe(1, kPr1);
  const uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  v6.user.addresses.push_back(protocol::IpAddress::V6(b));  // v4 + v6 + v4 asap = 24 bytes: spills
  protocol::PoolElement one_v6 = MakePe(2, kPr1);
  one_v6.user.addresses.items[0] = protocol::IpAddress::V6(b);  // 16 + 4: inline
  protocol::PoolElement many = MakePe(3, kPr1);
  for (uint32_t i = 0; i < 7; ++i) {
    many.user.addresses.push_back(protocol::IpAddress::V4(0xc0a80000 + i));
  }
  for (const protocol::PoolElement& pe : {v6, one_v6, many}) {
    const RegisterResult r = table.Register("p", pe, kNever);
    ASSERT_EQ(r.cause, kNoError);
    EXPECT_EQ(table.GetElement(r.slot), pe);
  }
  // Updating a spilled PE to an inline one and back keeps the data right.
  ASSERT_EQ(table.Register("p", MakePe(1, kPr1), kNever).cause, kNoError);
  EXPECT_EQ(table.GetElement(table.Find("p", 1)), MakePe(1, kPr1));
  ASSERT_EQ(table.Register("p", many, kNever).cause, kNoError);
  EXPECT_TRUE(table.Deregister("p", 3));
  EXPECT_TRUE(table.Deregister("p", 1));
  EXPECT_EQ(table.GetElement(table.Find("p", 2)), one_v6);
}

TEST(OwnershipTest, ChecksumsFollowEveryChange) {
  // RFC 5353 §3.6.2: checksums are updated at once on every change.
  PoolTable table;
  std::vector<std::pair<std::string, uint32_t>> owned[3];
  uint32_t x = 1;
  for (int i = 0; i < 300; ++i) {
    x = x * 1664525u + 1013904223u;
    const std::string handle = "pool" + std::to_string(x % 7);
    const RegistrarId home = 1 + (x >> 8) % 2;
    const PoolElementId id = x;
    ASSERT_EQ(table.Register(handle, MakePe(id, home), kNever).cause, kNoError);
    owned[home].emplace_back(handle, id);
  }
  EXPECT_EQ(table.Checksum(1), ReferenceChecksum(owned[1]));
  EXPECT_EQ(table.Checksum(2), ReferenceChecksum(owned[2]));
  // Remove half of PR 1's.
  for (size_t i = 0; i < owned[1].size(); i += 2) {
    ASSERT_TRUE(table.Deregister(owned[1][i].first, owned[1][i].second));
  }
  std::vector<std::pair<std::string, uint32_t>> left;
  for (size_t i = 1; i < owned[1].size(); i += 2) {
    left.push_back(owned[1][i]);
  }
  EXPECT_EQ(table.Checksum(1), ReferenceChecksum(left));
  // RFC 5353 §3.5.2 takeover: PR 1's PEs become PR 3's, checksum moves.
  EXPECT_EQ(table.TakeOver(1, 3), left.size());
  EXPECT_EQ(table.Checksum(1), 0xffff);
  EXPECT_EQ(table.OwnedCount(1), 0u);
  EXPECT_EQ(table.Checksum(3), ReferenceChecksum(left));
  size_t visited = 0;
  table.ForEachOwned(3, [&](uint32_t slot) {
    EXPECT_EQ(table.home(slot), 3u);
    ++visited;
  });
  EXPECT_EQ(visited, left.size());
  // Takeover into an owner that already has PEs merges the sets.
  EXPECT_EQ(table.TakeOver(2, 3), owned[2].size());
  std::vector<std::pair<std::string, uint32_t>> all = left;
  all.insert(all.end(), owned[2].begin(), owned[2].end());
  EXPECT_EQ(table.Checksum(3), ReferenceChecksum(all));
  EXPECT_EQ(table.OwnedCount(3), all.size());
}

TEST(ResyncTest, MarkAndSweepRemovesOnlyUnconfirmed) {
  // RFC 5353 §3.6.3: mark the peer's PEs, re-import confirms, sweep the rest.
  PoolTable table;
  for (PoolElementId id = 1; id <= 10; ++id) {
    ASSERT_EQ(table.Register("p", MakePe(id, id <= 6 ? kPr2 : kPr1), kNever).cause, kNoError);
  }
  EXPECT_EQ(table.MarkOwner(kPr2), 6u);
  for (PoolElementId id = 1; id <= 3; ++id) {
    ASSERT_EQ(table.Register("p", MakePe(id, kPr2), kNever).cause, kNoError);
  }
  std::vector<ElementEntry> removed;
  EXPECT_EQ(table.SweepOwner(kPr2, &removed), 3u);
  std::set<PoolElementId> ids;
  for (const ElementEntry& r : removed) {
    ids.insert(r.pe.id);
  }
  EXPECT_EQ(ids, (std::set<PoolElementId>{4, 5, 6}));
  EXPECT_EQ(table.element_count(), 7u);
  EXPECT_EQ(table.SweepOwner(kPr2, nullptr), 0u);
}

TEST(ExpiryTest, DueRegistrationsAreRemoved) {
  PoolTable table;
  ASSERT_EQ(table.Register("p", MakePe(1, kPr1), 1000).cause, kNoError);
  ASSERT_EQ(table.Register("p", MakePe(2, kPr1), 2000).cause, kNoError);
  ASSERT_EQ(table.Register("p", MakePe(3, kPr1), kNever).cause, kNoError);
  std::vector<ElementEntry> removed;
  EXPECT_EQ(table.Expire(999, &removed), 0u);
  EXPECT_EQ(table.Expire(1000, &removed), 1u);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].pe.id, 1u);
  // A re-registration or keep-alive moves the deadline.
  ASSERT_EQ(table.Register("p", MakePe(2, kPr1), 5000).cause, kNoError);
  EXPECT_EQ(table.Expire(3000, nullptr), 0u);
  EXPECT_TRUE(table.SetExpiry("p", 2, 4000));
  EXPECT_EQ(table.Expire(4000, nullptr), 1u);
  EXPECT_EQ(table.element_count(), 1u);
}

TEST(IterationTest, ChunksCoverEveryPeOnce) {
  PoolTable table;
  for (PoolElementId id = 1; id <= 1000; ++id) {
    ASSERT_EQ(table
                  .Register("pool" + std::to_string(id % 13), MakePe(id, id % 3 == 0 ? kPr2 : kPr1),
                            kNever)
                  .cause,
              kNoError);
  }
  for (PoolElementId id = 1; id <= 1000; id += 5) {
    ASSERT_TRUE(table.Deregister("pool" + std::to_string(id % 13), id));
  }
  std::multiset<PoolElementId> seen;
  uint32_t cursor = 0;
  std::vector<uint32_t> chunk;
  do {
    chunk.clear();
    cursor = table.IterateChunk(cursor, 128, &chunk);
    EXPECT_LE(chunk.size(), 128u);
    for (uint32_t slot : chunk) {
      seen.insert(table.element_id(slot));
    }
  } while (cursor != kIterationDone);
  EXPECT_EQ(seen.size(), 800u);
  EXPECT_EQ(std::set<PoolElementId>(seen.begin(), seen.end()).size(), 800u);
  // W flag: only PR 2's.
  size_t owned = 0;
  cursor = 0;
  do {
    chunk.clear();
    cursor = table.IterateChunk(cursor, 50, &chunk, kPr2);
    for (uint32_t slot : chunk) {
      EXPECT_EQ(table.home(slot), kPr2);
    }
    owned += chunk.size();
  } while (cursor != kIterationDone);
  EXPECT_EQ(owned, table.OwnedCount(kPr2));
}

TEST(IndexTest, LookupsSurviveHeavyChurn) {
  // The (pool, PE id) index deletes by backward shift using the probe
  // distances kept in its entries; long probe runs (distance >= 15) fall
  // back to the record. Random churn at the maximum load checks both.
  PoolTable table;
  std::set<std::pair<uint32_t, PoolElementId>> present;
  Prng rng(77);
  for (int step = 0; step < 60000; ++step) {
    const uint32_t pool = static_cast<uint32_t>(rng.Uniform(3));
    const PoolElementId id = static_cast<PoolElementId>(rng.Uniform(6000));
    const std::string handle = "h" + std::to_string(pool);
    if (present.count({pool, id})) {
      ASSERT_TRUE(table.Deregister(handle, id));
      present.erase({pool, id});
    } else {
      ASSERT_EQ(table.Register(handle, MakePe(id, kPr1), kNever).cause, kNoError);
      present.insert({pool, id});
    }
    if (step % 5000 == 0) {
      for (const auto& [p, i] : present) {
        ASSERT_NE(table.Find("h" + std::to_string(p), i), kNoSlot);
      }
      ASSERT_EQ(table.Find("h0", 99999), kNoSlot);
    }
  }
  EXPECT_EQ(table.element_count(), present.size());
}

TEST(MemoryTest, BytesPerPeWithinBudget) {
  // The budget is 128 bytes per PE (at 1M PEs; measured in
  // bench/handlespace_bench.cc). Checked here at 50,000 after Reserve.
  PoolTable table;
  constexpr uint32_t kPes = 50000;
  table.Reserve(kPes);
  for (uint32_t i = 0; i < kPes; ++i) {
    ASSERT_EQ(
        table
            .Register("pool" + std::to_string(i % 50),
                      MakePe((i + 1) * 2654435761u, kPr1, PolicyType::kLeastUsed, i), 1000 + i)
            .cause,
        kNoError);
  }
  EXPECT_LE(table.MemoryBytes() / kPes, 128u);
}

TEST(OperatorViewTest, SummarizePoolsCountsElementsOwnersAndActivity) {
  PoolTable table;
  Prng rng(1);
  ASSERT_EQ(table.Register("a", MakePe(1, kPr1), kNever).cause, kNoError);
  ASSERT_EQ(table.Register("a", MakePe(2, kPr2), kNever).cause, kNoError);
  ASSERT_EQ(table.Register("a", MakePe(1, kPr1), kNever).cause, kNoError);  // re-registration
  ASSERT_EQ(table.Register("b", MakePe(3, kPr1), kNever).cause, kNoError);
  uint32_t out[kMaxResolutionItems];
  size_t n = 0;
  for (int i = 0; i < 4; ++i) ASSERT_EQ(table.Resolve("a", {}, rng, out, &n), kNoError);
  ASSERT_EQ(table.Resolve("nope", {}, rng, out, &n), Cause::kUnknownPoolHandle);

  std::vector<PoolTable::PoolSummary> pools;
  table.SummarizePools(kPr1, &pools);
  ASSERT_EQ(pools.size(), 2u);
  std::sort(pools.begin(), pools.end(),
            [](const auto& x, const auto& y) { return x.handle < y.handle; });
  EXPECT_EQ(pools[0].handle, "a");
  EXPECT_EQ(pools[0].elements, 2u);
  EXPECT_EQ(pools[0].owned, 1u);
  EXPECT_EQ(pools[0].registrations, 3u);
  EXPECT_EQ(pools[0].resolutions, 4u);
  EXPECT_EQ(pools[1].owned, 1u);
  EXPECT_EQ(pools[1].resolutions, 0u);

  // A pool deleted and created again starts from zero.
  ASSERT_TRUE(table.Deregister("b", 3));
  ASSERT_EQ(table.Register("b", MakePe(4, kPr2), kNever).cause, kNoError);
  table.SummarizePools(kPr1, &pools);
  for (const auto& p : pools) {
    if (p.handle == "b") {
      EXPECT_EQ(p.registrations, 1u);
      EXPECT_EQ(p.owned, 0u);
    }
  }
}

TEST(OperatorViewTest, DescribePoolGivesEveryPeWithItsTimerAndTheNextOne) {
  PoolTable table;
  Prng rng(1);
  ASSERT_EQ(table.Register("a", MakePe(1, kPr1), 5000).cause, kNoError);
  ASSERT_EQ(table.Register("a", MakePe(2, kPr2), kNever).cause, kNoError);
  ASSERT_EQ(table.Register("a", MakePe(3, kPr1), kNever).cause, kNoError);
  uint32_t out[kMaxResolutionItems];
  size_t n = 0;
  ResolveOptions one;
  one.max_items = 1;
  ASSERT_EQ(table.Resolve("a", one, rng, out, &n), kNoError);  // round robin moves on by one

  PoolTable::PoolSummary summary;
  std::vector<PoolTable::ElementDetail> elements;
  ASSERT_TRUE(table.DescribePool("a", kPr1, 10, &summary, &elements));
  EXPECT_EQ(summary.elements, 3u);
  EXPECT_EQ(summary.owned, 2u);
  ASSERT_EQ(elements.size(), 3u);
  int next = 0;
  for (const auto& e : elements) {
    next += e.next ? 1 : 0;
    EXPECT_EQ(e.expiry, e.pe.id == 1 ? Tick{5000} : kNever);
  }
  EXPECT_EQ(next, 1);
  // The next one is what the next resolution returns first.
  const auto next_pe =
      std::find_if(elements.begin(), elements.end(), [](const auto& e) { return e.next; });
  ASSERT_EQ(table.Resolve("a", one, rng, out, &n), kNoError);
  EXPECT_EQ(table.element_id(out[0]), next_pe->pe.id);

  ASSERT_TRUE(table.DescribePool("a", kPr1, 2, &summary, &elements));
  EXPECT_EQ(elements.size(), 2u);  // at most `max`
  EXPECT_EQ(summary.owned, 2u);    // counted over all of them
  EXPECT_FALSE(table.DescribePool("nope", kPr1, 10, &summary, &elements));
}

TEST(OperatorViewTest, SetLimitsRefusesNewPesAndKeepsTheOnesHeld) {
  PoolTable table;
  for (uint32_t id = 1; id <= 3; ++id) {
    ASSERT_EQ(table.Register("a", MakePe(id, kPr1), kNever).cause, kNoError);
  }
  table.SetLimits(2, 10, 10);  // lower than what is held
  EXPECT_EQ(table.element_count(), 3u);
  EXPECT_EQ(table.Register("a", MakePe(4, kPr1), kNever).cause, Cause::kLackOfResources);
  EXPECT_EQ(table.Register("a", MakePe(1, kPr1), kNever).cause, kNoError);  // re-registration
  table.SetLimits(10, 10, 10);
  EXPECT_EQ(table.Register("a", MakePe(4, kPr1), kNever).cause, kNoError);
  table.SetLimits(10, 1, 10);
  EXPECT_EQ(table.Register("b", MakePe(5, kPr1), kNever).cause, Cause::kLackOfResources);
  table.SetLimits(10, 10, 4);
  EXPECT_EQ(table.Register("a", MakePe(6, kPr1), kNever).cause, Cause::kLackOfResources);
}

}  // namespace
}  // namespace rspd::handlespace
