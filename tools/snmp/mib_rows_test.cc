// Tests of rspd's management JSON (docs/management.md) turned into
// RSERPOOL-MIB rows (RFC 5525 §6), including JSON that is malformed or
// lacks fields: nothing crashes, bad rows are skipped and counted.

#include "tools/snmp/mib_rows.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace rspd::tools::snmp {
namespace {

constexpr char kStatus[] =
    R"({"version": "0.1.0", "server_id": 305419896, "uptime_seconds": 12.5, "pools": 2})";

std::string Element(uint32_t id, int port, const std::string& extra = "") {
  return R"({"id": )" + std::to_string(id) +
         R"(, "home": 305419896, "owned": true, "registration_life_ms": 30000,
      "policy": {"type": "Least Used with Degradation", "weight": 0, "load": 7,
                 "load_degradation": 3, "dpf": 0, "distance": 0},
      "user_transport": {"protocol": "tcp", "port": )" +
         std::to_string(port) + R"(, "use": "data_and_control",
                         "addresses": ["10.0.0.1", "::1"]},
      "asap_transport": {"port": 3863, "udp_port": 9899, "addresses": ["10.0.0.2"]})" +
         extra + "}";
}

std::string Pool(const std::string& handle_hex, const std::vector<std::string>& elements,
                 bool truncated = false) {
  std::string list;
  for (const std::string& e : elements) list += (list.empty() ? "" : ",") + e;
  return R"({"handle_hex": ")" + handle_hex + R"(", "truncated": )" +
         (truncated ? "true" : "false") + R"(, "elements": [)" + list + "]}";
}

// RFC 5525 §6: rserpoolENRPEntry of rspd itself.
TEST(MibRowsTest, StatusGivesTheServerRow) {
  SnapshotBuilder builder(100);
  ASSERT_TRUE(builder.SetStatus(kStatus).ok());
  MibSnapshot s = std::move(builder).Finish();
  ASSERT_TRUE(s.has_server);
  EXPECT_EQ(s.server.server_id, 305419896u);
  EXPECT_EQ(s.server.uptime_ticks, 1250u);  // 12.5 s in hundredths
  EXPECT_EQ(s.server.description, "rspd 0.1.0, server ID 0x12345678");
}

TEST(MibRowsTest, StatusWithoutServerIdFails) {
  SnapshotBuilder builder(100);
  EXPECT_FALSE(builder.SetStatus(R"({"version": "0.1.0"})").ok());
  EXPECT_FALSE(builder.SetStatus(R"({"server_id": 0})").ok());  // range 1..2^32-1
  EXPECT_FALSE(builder.SetStatus(R"({"server_id": 4294967296})").ok());
  EXPECT_FALSE(builder.SetStatus(R"({"server_id": "1"})").ok());
  EXPECT_FALSE(builder.SetStatus("not json").ok());
  EXPECT_FALSE(builder.SetStatus("").ok());
  EXPECT_FALSE(builder.SetStatus("[1, 2]").ok());
}

// RFC 5525 §6, rserpoolENRPPoolElementEntry: every column from the PE.
TEST(MibRowsTest, ElementColumnsComeFromThePe) {
  SnapshotBuilder builder(100);
  ASSERT_TRUE(builder.AddPool(Pool("6563686f", {Element(7, 4000)})).ok());
  MibSnapshot s = std::move(builder).Finish();
  ASSERT_EQ(s.pools.size(), 1u);
  EXPECT_EQ(s.pools[0].handle, "echo");
  ASSERT_EQ(s.pools[0].elements.size(), 1u);
  const ElementRow& e = s.pools[0].elements[0];
  EXPECT_EQ(e.index, 1u);
  EXPECT_EQ(e.id, 7u);
  EXPECT_EQ(e.home, 305419896u);
  EXPECT_EQ(e.asap_port, 3863u);
  EXPECT_EQ(e.user_protocol, 6u);  // TCP
  EXPECT_EQ(e.user_port, 4000u);
  EXPECT_EQ(e.user_use, 1);  // dataPlusControl
  EXPECT_EQ(e.policy_id, 0x40000002u);
  EXPECT_EQ(e.policy_description, "Least Used with Degradation");
  EXPECT_EQ(e.policy_load, 7u);
  EXPECT_EQ(e.policy_load_degradation, 3u);
  EXPECT_EQ(e.registration_life_ticks, 3000u);  // 30 s
  ASSERT_EQ(e.user_addresses.size(), 2u);
  EXPECT_EQ(e.user_addresses[0].type, kInetAddressIpv4);
  EXPECT_EQ(e.user_addresses[0].octets, std::string("\x0a\x00\x00\x01", 4));
  EXPECT_EQ(e.user_addresses[1].type, kInetAddressIpv6);
  EXPECT_EQ(e.user_addresses[1].octets.size(), 16u);
  ASSERT_EQ(e.asap_addresses.size(), 1u);
  EXPECT_EQ(e.asap_addresses[0].octets, std::string("\x0a\x00\x00\x02", 4));
  EXPECT_EQ(s.skipped, 0u);
}

// Indices: pools by handle bytes, PEs by identifier, peers by server ID.
TEST(MibRowsTest, IndicesFollowSortedKeys) {
  SnapshotBuilder builder(100);
  // "zz", then "a", then the non-printable 0x00ff: sorted 00ff, a, zz.
  ASSERT_TRUE(builder.AddPool(Pool("7a7a", {Element(30, 1), Element(10, 2), Element(20, 3)})).ok());
  ASSERT_TRUE(builder.AddPool(Pool("61", {Element(5, 1)})).ok());
  ASSERT_TRUE(builder.AddPool(Pool("00ff", {})).ok());
  ASSERT_TRUE(builder
                  .SetPeers(R"({"peers": [
      {"server_id": 9, "address": "127.0.0.1:9901", "last_heard_ms": 120},
      {"server_id": 3, "address": "[::1]:9902", "last_heard_ms": 5}]})")
                  .ok());
  MibSnapshot s = std::move(builder).Finish();
  ASSERT_EQ(s.pools.size(), 3u);
  EXPECT_EQ(s.pools[0].handle, std::string("\x00\xff", 2));
  EXPECT_EQ(s.pools[1].handle, "a");
  EXPECT_EQ(s.pools[2].handle, "zz");
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(s.pools[i].index, i + 1);
  const std::vector<ElementRow>& zz = s.pools[2].elements;
  ASSERT_EQ(zz.size(), 3u);
  EXPECT_EQ(zz[0].id, 10u);
  EXPECT_EQ(zz[1].id, 20u);
  EXPECT_EQ(zz[2].id, 30u);
  EXPECT_EQ(zz[2].index, 3u);
  EXPECT_EQ(zz[2].user_port, 1u);
  EXPECT_EQ(s.pool_elements, 4u);
  ASSERT_EQ(s.peers.size(), 2u);
  EXPECT_EQ(s.peers[0].server_id, 3u);
  EXPECT_EQ(s.peers[0].index, 1u);
  EXPECT_EQ(s.peers[0].port, 9902u);
  ASSERT_EQ(s.peers[0].addresses.size(), 1u);
  EXPECT_EQ(s.peers[0].addresses[0].type, kInetAddressIpv6);
  EXPECT_EQ(s.peers[1].server_id, 9u);
  EXPECT_EQ(s.peers[1].last_heard_ticks, 12u);
  EXPECT_EQ(s.peers[1].port, 9901u);
}

// A PE without a valid key or value is skipped and counted; the rest stay.
TEST(MibRowsTest, MalformedElementsAreSkippedAndCounted) {
  SnapshotBuilder builder(100);
  std::vector<std::string> elements = {
      Element(1, 10),
      R"({"home": 1})",                                              // no id
      R"({"id": 0, "home": 1, "policy": {"type": "Round Robin"}})",  // id 0
      R"({"id": -5, "home": 1, "policy": {"type": "Round Robin"}})",
      R"({"id": 2, "home": 1, "policy": {"type": "No Such Policy"}})",
      R"({"id": 3, "home": 1, "policy": "Round Robin"})",
      R"({"id": 4, "home": 1})",  // no policy
      R"("a string")",
      "null",
      "[]",
      // Minimal but valid: columns without data take their neutral values.
      R"({"id": 5, "home": 1, "policy": {"type": "Round Robin"}})",
      // Bad transport fields: the PE stays, the bad address is counted.
      R"({"id": 6, "home": 1, "policy": {"type": "Random"},
          "user_transport": {"protocol": 17, "port": 70000, "use": null,
                             "addresses": ["not an address", 12, "192.0.2.1"]},
          "asap_transport": "none", "registration_life_ms": -1})",
  };
  ASSERT_TRUE(builder.AddPool(Pool("61", elements)).ok());
  MibSnapshot s = std::move(builder).Finish();
  ASSERT_EQ(s.pools.size(), 1u);
  const std::vector<ElementRow>& e = s.pools[0].elements;
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].id, 1u);
  EXPECT_EQ(e[1].id, 5u);
  EXPECT_EQ(e[1].user_port, 0u);
  EXPECT_EQ(e[1].user_protocol, 0u);
  EXPECT_TRUE(e[1].user_addresses.empty());
  EXPECT_EQ(e[2].id, 6u);
  EXPECT_EQ(e[2].policy_id, 3u);  // Random
  EXPECT_EQ(e[2].user_port, 0u);  // 70000 is out of InetPortNumber's range
  EXPECT_EQ(e[2].registration_life_ticks, 0u);
  ASSERT_EQ(e[2].user_addresses.size(), 1u);
  EXPECT_EQ(e[2].user_addresses[0].octets, std::string("\xc0\x00\x02\x01", 4));
  EXPECT_EQ(s.skipped, 9u + 2u);  // nine PEs, two addresses
  EXPECT_EQ(s.pool_elements, 3u);
}

TEST(MibRowsTest, MalformedDocumentsFailWithoutCrashing) {
  SnapshotBuilder builder(100);
  for (const char* bad :
       {"", "{", "[]", "null", "42", R"({"elements": []})", R"({"handle_hex": "zz"})",
        R"({"handle_hex": "abc"})", "\xff\xfe garbage"}) {
    EXPECT_FALSE(builder.AddPool(bad).ok()) << bad;
  }
  for (const char* bad : {"", "{}", R"({"peers": {}})", R"({"peers": "x"})", "[[["}) {
    EXPECT_FALSE(builder.SetPeers(bad).ok()) << bad;
  }
  bool truncated = false;
  size_t skipped = 0;
  EXPECT_FALSE(ParsePoolList("", &truncated, &skipped).ok());
  EXPECT_FALSE(ParsePoolList(R"({"pools": 3})", &truncated, &skipped).ok());
  MibSnapshot s = std::move(builder).Finish();
  EXPECT_TRUE(s.pools.empty());
}

// A pool given by its printable handle alone still counts (handle_hex is
// always written, but clients ignore what they do not need).
TEST(MibRowsTest, PoolListKeepsGoodEntriesAndCountsBadOnes) {
  bool truncated = false;
  size_t skipped = 0;
  absl::StatusOr<std::vector<PoolRef>> pools = ParsePoolList(
      R"({"total": 5, "truncated": true, "pools": [
          {"handle": "echo", "handle_hex": "6563686f"},
          {"handle": null, "handle_hex": "00ff"},
          {"handle": "text-only"},
          {"handle_hex": 12},
          "junk"]})",
      &truncated, &skipped);
  ASSERT_TRUE(pools.ok());
  ASSERT_EQ(pools->size(), 3u);
  EXPECT_EQ((*pools)[0].handle, "echo");
  EXPECT_EQ((*pools)[1].handle, std::string("\x00\xff", 2));
  EXPECT_EQ((*pools)[1].handle_hex, "00ff");
  EXPECT_EQ((*pools)[2].handle_hex, "746578742d6f6e6c79");
  EXPECT_TRUE(truncated);
  EXPECT_EQ(skipped, 2u);
}

// --max_pool_elements: rows past the cap are left out and flagged.
TEST(MibRowsTest, MaxPoolElementsTruncates) {
  SnapshotBuilder builder(3);
  ASSERT_TRUE(builder.AddPool(Pool("61", {Element(1, 1), Element(2, 2)})).ok());
  EXPECT_EQ(builder.remaining(), 1u);
  ASSERT_TRUE(builder.AddPool(Pool("62", {Element(3, 1), Element(4, 2)})).ok());
  EXPECT_EQ(builder.remaining(), 0u);
  MibSnapshot s = std::move(builder).Finish();
  EXPECT_TRUE(s.truncated);
  EXPECT_EQ(s.pool_elements, 3u);
  ASSERT_EQ(s.pools.size(), 2u);
  EXPECT_EQ(s.pools[1].elements.size(), 1u);
}

// rspd's own "truncated" on /api/pool also marks the snapshot.
TEST(MibRowsTest, TruncatedPoolAnswerIsReported) {
  SnapshotBuilder builder(100);
  ASSERT_TRUE(builder.AddPool(Pool("61", {Element(1, 1)}, /*truncated=*/true)).ok());
  EXPECT_TRUE(std::move(builder).Finish().truncated);
}

// The same pool twice would give two rows one index: one is dropped.
TEST(MibRowsTest, DuplicatePoolKeepsOneRow) {
  SnapshotBuilder builder(100);
  ASSERT_TRUE(builder.AddPool(Pool("61", {Element(1, 1)})).ok());
  ASSERT_TRUE(builder.AddPool(Pool("61", {Element(2, 1), Element(3, 1)})).ok());
  MibSnapshot s = std::move(builder).Finish();
  ASSERT_EQ(s.pools.size(), 1u);
  EXPECT_EQ(s.pool_elements, s.pools[0].elements.size());
  EXPECT_EQ(s.skipped, 1u);
}

TEST(MibRowsTest, PeersWithoutValidIdOrAddressAreCounted) {
  SnapshotBuilder builder(100);
  ASSERT_TRUE(builder
                  .SetPeers(R"({"peers": [
      {"address": "127.0.0.1:1"},
      {"server_id": 0},
      {"server_id": 4, "address": "no-port"},
      {"server_id": 5, "address": "host.example:99999"},
      {"server_id": 6, "state": "active"},
      7]})")
                  .ok());
  MibSnapshot s = std::move(builder).Finish();
  // Peers 4, 5 and 6 stay (with no address row); 1, 0 and "7" do not.
  ASSERT_EQ(s.peers.size(), 3u);
  EXPECT_TRUE(s.peers[0].addresses.empty());
  EXPECT_EQ(s.peers[0].port, 0u);
  EXPECT_EQ(s.skipped, 3u + 2u);
}

TEST(MibRowsTest, ParseInetAddressAcceptsOnlyIpText) {
  InetAddress a;
  EXPECT_TRUE(ParseInetAddress("127.0.0.1", &a));
  EXPECT_EQ(a.type, kInetAddressIpv4);
  EXPECT_TRUE(ParseInetAddress("fe80::1", &a));
  EXPECT_EQ(a.type, kInetAddressIpv6);
  EXPECT_FALSE(ParseInetAddress("", &a));
  EXPECT_FALSE(ParseInetAddress("1.2.3", &a));
  EXPECT_FALSE(ParseInetAddress("localhost", &a));
  EXPECT_FALSE(ParseInetAddress(std::string("1.2.3.4\0x", 9), &a));
}

}  // namespace
}  // namespace rspd::tools::snmp
