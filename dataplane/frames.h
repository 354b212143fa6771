// File: dataplane/frames.h
//
// Building and parsing the frames that carry ASAP and ENRP: Ethernet/IPv4/
// IPv6, UDP, and SCTP (RFC 9260 §3) either native (IP protocol 132) or over
// UDP (RFC 6951). Used by captures (`rspctl decode`, wire tests) and, later,
// by the DPDK packet path. No I/O.
//
// Example:
//   FrameSpec spec;  // loopback, UDP encapsulation, PPID 11
//   std::vector<uint8_t> frame = BuildSctpDataFrame(spec, message_bytes);
//   ParsedFrame parsed;
//   if (ParseFrame(LinkType::kEthernet, frame, &parsed)) ...

#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "dataplane/crc32c.h"

namespace rspd::dataplane {

// What to put around one SCTP DATA chunk.
struct FrameSpec {
  bool ipv6 = false;
  uint8_t src_ip[16] = {127, 0, 0, 1};
  uint8_t dst_ip[16] = {127, 0, 0, 1};
  bool udp_encapsulation = true;  // RFC 6951; false = native SCTP
  uint16_t udp_src_port = 9899;
  uint16_t udp_dst_port = 9899;
  uint16_t sctp_src_port = 3863;
  uint16_t sctp_dst_port = 3863;
  uint32_t verification_tag = 0x01020304;
  uint32_t tsn = 1;
  uint16_t stream = 0;
  uint16_t stream_sequence = 0;
  uint32_t ppid = 11;
  // DATA chunk B and E flags: both set for a whole user message.
  bool begin = true;
  bool end = true;
};

// An Ethernet frame with one SCTP packet holding one DATA chunk whose payload
// is `payload`, with valid IP, UDP and SCTP checksums.
std::vector<uint8_t> BuildSctpDataFrame(const FrameSpec& spec, absl::Span<const uint8_t> payload);

// An Ethernet frame with one plain UDP datagram (ASAP announces, RFC 5352 §3.6).
std::vector<uint8_t> BuildUdpFrame(const FrameSpec& spec, absl::Span<const uint8_t> payload);

// Link layers that captures use (pcap DLT values).
enum class LinkType : int {
  kNull = 0,  // BSD loopback
  kEthernet = 1,
  kRaw = 101,       // raw IPv4/IPv6
  kLinuxSll = 113,  // `tcpdump -i any`
  kLinuxSll2 = 276,
};

// One SCTP DATA chunk, or one UDP payload, found in a frame.
struct ParsedChunk {
  uint16_t stream = 0;
  uint16_t stream_sequence = 0;
  uint32_t tsn = 0;
  uint32_t ppid = 0;
  bool begin = true;  // B flag: first fragment
  bool end = true;    // E flag: last fragment
  absl::Span<const uint8_t> payload;
};

struct ParsedFrame {
  enum class Carrier { kNone, kSctp, kSctpOverUdp, kUdp } carrier = Carrier::kNone;
  bool ipv6 = false;
  uint8_t src_ip[16] = {};
  uint8_t dst_ip[16] = {};
  uint16_t src_port = 0;  // SCTP ports, or UDP ports for kUdp
  uint16_t dst_port = 0;
  bool checksum_ok = true;          // SCTP CRC32c
  std::vector<ParsedChunk> chunks;  // DATA chunks (SCTP) or the datagram (kUdp)
};

// Parses one captured frame. Returns false when it is not IPv4/IPv6 carrying
// SCTP, SCTP over UDP on `encapsulation_port`, or UDP; `out->chunks` then is
// empty. Never reads outside `frame`.
bool ParseFrame(LinkType link, absl::Span<const uint8_t> frame, ParsedFrame* out,
                uint16_t encapsulation_port = 9899);

}  // namespace rspd::dataplane
