// Golden wire test: one of every ASAP and ENRP message, encoded by
// //protocol:codec, written into a pcap as SCTP over UDP (RFC 6951) on
// loopback addresses, and decoded by Wireshark's own ASAP and ENRP
// dissectors (tshark). Fails if Wireshark calls anything malformed, reports
// an expert error, or reads a different message type or field value than we
// encoded.

#include <pcap/pcap.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "dataplane/frames.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"
#include "protocol/testing/samples.h"

namespace rspd {
namespace {

using protocol::Message;
using protocol::Protocol;

std::string TempPath(const std::string& name) {
  const char* dir = getenv("TEST_TMPDIR");
  return absl::StrCat(dir ? dir : "/tmp", "/", name);
}

void WritePcap(const std::string& path, const std::vector<std::vector<uint8_t>>& frames) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  ASSERT_NE(dead, nullptr);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(dumper, nullptr) << pcap_geterr(dead);
  int second = 1;
  for (const std::vector<uint8_t>& frame : frames) {
    pcap_pkthdr header{};
    header.ts.tv_sec = second++;
    header.caplen = header.len = static_cast<uint32_t>(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frame.data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
}

// Runs a command and returns its standard output.
std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

// Values as tshark prints them, normalized: numbers in decimal, bytes as hex.
std::string Hex(absl::Span<const uint8_t> bytes) {
  std::string out;
  for (uint8_t b : bytes) absl::StrAppend(&out, absl::Hex(b, absl::kZeroPad2));
  return out;
}
std::string Normalize(const std::string& value) {
  std::vector<std::string> parts = absl::StrSplit(value, ',', absl::SkipEmpty());
  for (std::string& part : parts) {
    uint64_t number;
    if (absl::StartsWith(part, "0x") && absl::SimpleHexAtoi(part, &number)) {
      part = absl::StrCat(number);
    }
    absl::StrReplaceAll({{":", ""}}, &part);
  }
  return absl::StrJoin(parts, ",");
}

// The fields we check, and their expected values from our own decoder.
std::map<std::string, std::string> Expected(const Message& m) {
  std::map<std::string, std::string> f;
  const std::string p = m.protocol == Protocol::kAsap ? "asap." : "enrp.";
  std::vector<std::string> handles, pe_ids, policies, causes, lives, homes;
  auto add_pe = [&](const protocol::PoolElementView& e) {
    pe_ids.push_back(absl::StrCat(e.pe_id));
    policies.push_back(absl::StrCat(e.policy.type));
    lives.push_back(absl::StrCat(e.registration_life));
    homes.push_back(absl::StrCat(e.home_registrar));
  };
  if (m.has_pool_handle) {
    handles.push_back(
        Hex({reinterpret_cast<const uint8_t*>(m.pool_handle.data()), m.pool_handle.size()}));
  }
  if (m.has_policy) policies.push_back(absl::StrCat(m.policy.type));
  if (m.has_pool_element) add_pe(m.pool_element);
  for (const auto& e : m.pool_elements) add_pe(e);
  for (const auto& entry : m.pool_entries) {
    handles.push_back(Hex(
        {reinterpret_cast<const uint8_t*>(entry.pool_handle.data()), entry.pool_handle.size()}));
    for (const auto& e : entry.elements) add_pe(e);
  }
  std::vector<std::string> types = {absl::StrCat(m.type)}, flags = {absl::StrCat(m.flags)};
  for (const auto& c : m.error_causes) {
    causes.push_back(absl::StrCat(static_cast<int>(c.code)));
    // Wireshark dissects the information that causes carry: the unrecognized
    // message (RFC 5354 §3.12.3) or the pool's policy (§3.12.6).
    if (c.code == protocol::Cause::kUnrecognizedMessage && c.info.size() >= 4) {
      types.push_back(absl::StrCat(c.info[0]));
      flags.push_back(absl::StrCat(c.info[1]));
    }
    if (c.code == protocol::Cause::kInconsistentPoolingPolicy && c.info.size() >= 8) {
      policies.push_back(absl::StrCat(protocol::Load32(c.info.data() + 4)));
    }
  }
  f[p + "message_type"] = absl::StrJoin(types, ",");
  f[p + "message_flags"] = absl::StrJoin(flags, ",");
  f[p + "pool_handle_pool_handle"] = absl::StrJoin(handles, ",");
  f[p + "pool_element_pe_identifier"] = absl::StrJoin(pe_ids, ",");
  f[p + "pool_member_selection_policy_type"] = absl::StrJoin(policies, ",");
  f[p + "pool_element_registration_life"] = absl::StrJoin(lives, ",");
  f[p + "pool_element_home_enrp_server_identifier"] = absl::StrJoin(homes, ",");
  f[p + "cause_code"] = absl::StrJoin(causes, ",");
  f[p + "pe_identifier"] = m.has_pe_id ? absl::StrCat(m.pe_id) : "";
  if (m.protocol == Protocol::kAsap) {
    uint32_t server = m.server_id;
    bool has_server = m.type == static_cast<uint8_t>(protocol::AsapType::kEndpointKeepAlive) ||
                      m.type == static_cast<uint8_t>(protocol::AsapType::kServerAnnounce);
    f["asap.server_identifier"] = has_server ? absl::StrCat(server) : "";
    f["asap.cookie"] = m.has_cookie ? Hex(m.cookie) : "";
  } else {
    f["enrp.sender_servers_id"] = absl::StrCat(m.sender_id);
    f["enrp.receiver_servers_id"] = absl::StrCat(m.receiver_id);
    bool target = m.type >= static_cast<uint8_t>(protocol::EnrpType::kInitTakeover) &&
                  m.type <= static_cast<uint8_t>(protocol::EnrpType::kTakeoverServer);
    f["enrp.target_servers_id"] = target ? absl::StrCat(m.target_id) : "";
    f["enrp.pe_checksum"] = m.has_checksum ? absl::StrCat(m.checksum) : "";
    std::vector<std::string> servers;
    if (m.has_server_information) servers.push_back(absl::StrCat(m.server_information.server_id));
    for (const auto& s : m.servers) servers.push_back(absl::StrCat(s.server_id));
    f["enrp.server_information_server_identifier"] = absl::StrJoin(servers, ",");
    bool update = m.type == static_cast<uint8_t>(protocol::EnrpType::kHandleUpdate);
    f["enrp.update_action"] = update ? absl::StrCat(static_cast<int>(m.update_action)) : "";
  }
  return f;
}

TEST(WireGoldenTest, WiresharkDecodesEveryMessageAsEncoded) {
  std::vector<protocol::testing::Sample> samples = protocol::testing::AllSamples();
  std::vector<std::vector<uint8_t>> frames;
  for (size_t i = 0; i < samples.size(); ++i) {
    dataplane::FrameSpec spec;
    spec.ppid = samples[i].protocol == Protocol::kAsap ? protocol::kAsapPpid : protocol::kEnrpPpid;
    spec.sctp_src_port = spec.sctp_dst_port =
        samples[i].protocol == Protocol::kAsap ? protocol::kAsapPort : protocol::kEnrpPort;
    spec.tsn = static_cast<uint32_t>(i + 1);
    spec.stream_sequence = static_cast<uint16_t>(i);
    // Alternate SCTP over UDP (RFC 6951) and native SCTP.
    spec.udp_encapsulation = i % 2 == 0;
    frames.push_back(dataplane::BuildSctpDataFrame(spec, samples[i].bytes));
  }
  const std::string pcap = TempPath("golden.pcap");
  WritePcap(pcap, frames);

  // Every field of both protocols, plus Wireshark's verdicts.
  std::vector<std::string> fields = {"frame.number", "_ws.malformed", "_ws.expert.severity",
                                     "sctp.checksum.status"};
  std::vector<std::string> checked;
  for (const auto& [name, value] : Expected(Message())) checked.push_back(name);
  Message enrp;
  enrp.protocol = Protocol::kEnrp;
  for (const auto& [name, value] : Expected(enrp)) checked.push_back(name);
  fields.insert(fields.end(), checked.begin(), checked.end());
  std::string command =
      absl::StrCat("tshark -n -r ", pcap, " -o sctp.checksum:CRC-32C -T fields -E separator=/t",
                   " -E occurrence=a -E aggregator=, -E quote=n");
  for (const std::string& field : fields) absl::StrAppend(&command, " -e ", field);
  absl::StrAppend(&command, " 2>/dev/null");
  std::string output = RunCommand(command);
  std::vector<std::string> lines = absl::StrSplit(output, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), samples.size()) << "tshark output:\n" << output << "\n" << command;

  for (size_t i = 0; i < samples.size(); ++i) {
    SCOPED_TRACE(samples[i].name);
    std::vector<std::string> values = absl::StrSplit(lines[i], '\t');
    ASSERT_EQ(values.size(), fields.size()) << lines[i];
    std::map<std::string, std::string> got;
    for (size_t k = 0; k < fields.size(); ++k) got[fields[k]] = values[k];
    EXPECT_EQ(got["_ws.malformed"], "") << lines[i];
    // Wireshark expert severities: 0x00800000 = error. Warnings (e.g. for
    // RSPLIB-only policy types) are allowed; errors are not.
    for (absl::string_view severity :
         absl::StrSplit(got["_ws.expert.severity"], ',', absl::SkipEmpty())) {
      EXPECT_NE(severity, "8388608") << lines[i];
    }
    EXPECT_EQ(got["sctp.checksum.status"], "1") << "bad SCTP CRC32c: " << lines[i];

    Message m;
    protocol::DecodeError error;
    ASSERT_TRUE(protocol::DecodeMessage(samples[i].protocol, samples[i].bytes, &m, &error));
    const std::string prefix = samples[i].protocol == Protocol::kAsap ? "asap." : "enrp.";
    for (const auto& [name, want] : Expected(m)) {
      if (!absl::StartsWith(name, prefix)) continue;
      EXPECT_EQ(Normalize(got[name]), want) << name << " in " << lines[i];
    }
  }
}

}  // namespace
}  // namespace rspd
