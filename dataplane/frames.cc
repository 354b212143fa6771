#include "dataplane/frames.h"

#include <array>
#include <cstring>

namespace rspd::dataplane {
namespace {

constexpr uint8_t kIpProtoUdp = 17;
constexpr uint8_t kIpProtoSctp = 132;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint8_t kChunkData = 0;

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
void Put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
void Put32(std::vector<uint8_t>& v, uint32_t x) {
  Put16(v, static_cast<uint16_t>(x >> 16));
  Put16(v, static_cast<uint16_t>(x));
}
void Set16(std::vector<uint8_t>& v, size_t at, uint16_t x) {
  v[at] = static_cast<uint8_t>(x >> 8);
  v[at + 1] = static_cast<uint8_t>(x);
}

// RFC 1071 Internet checksum over `length` bytes plus an initial sum.
uint16_t InternetChecksum(const uint8_t* p, size_t length, uint32_t sum = 0) {
  for (; length > 1; p += 2, length -= 2) sum += Get16(p);
  if (length) sum += static_cast<uint32_t>(p[0]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> Wrap(const FrameSpec& spec, uint8_t protocol, const std::vector<uint8_t>& l4) {
  std::vector<uint8_t> f;
  // Ethernet: locally administered MACs, never on a real network.
  const uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
  const uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
  f.insert(f.end(), dst_mac, dst_mac + 6);
  f.insert(f.end(), src_mac, src_mac + 6);
  Put16(f, spec.ipv6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
  size_t ip = f.size();
  if (spec.ipv6) {
    Put32(f, 0x60000000);
    Put16(f, static_cast<uint16_t>(l4.size()));
    f.push_back(protocol);
    f.push_back(64);
    f.insert(f.end(), spec.src_ip, spec.src_ip + 16);
    f.insert(f.end(), spec.dst_ip, spec.dst_ip + 16);
  } else {
    f.push_back(0x45);
    f.push_back(0);
    Put16(f, static_cast<uint16_t>(20 + l4.size()));
    Put32(f, 0x00004000);  // ID 0, DF
    f.push_back(64);
    f.push_back(protocol);
    Put16(f, 0);
    f.insert(f.end(), spec.src_ip, spec.src_ip + 4);
    f.insert(f.end(), spec.dst_ip, spec.dst_ip + 4);
    Set16(f, ip + 10, InternetChecksum(&f[ip], 20));
  }
  f.insert(f.end(), l4.begin(), l4.end());
  return f;
}

uint16_t UdpChecksum(const FrameSpec& spec, const std::vector<uint8_t>& udp) {
  uint32_t sum = 0;
  size_t n = spec.ipv6 ? 16 : 4;
  for (size_t i = 0; i < n; i += 2) {
    sum += Get16(spec.src_ip + i) + Get16(spec.dst_ip + i);
  }
  sum += kIpProtoUdp + static_cast<uint32_t>(udp.size());
  uint16_t c = InternetChecksum(udp.data(), udp.size(), sum);
  return c == 0 ? 0xffff : c;
}

std::vector<uint8_t> Udp(const FrameSpec& spec, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> udp;
  Put16(udp, spec.udp_src_port);
  Put16(udp, spec.udp_dst_port);
  Put16(udp, static_cast<uint16_t>(8 + payload.size()));
  Put16(udp, 0);
  udp.insert(udp.end(), payload.begin(), payload.end());
  Set16(udp, 6, UdpChecksum(spec, udp));
  return udp;
}

}  // namespace

std::vector<uint8_t> BuildSctpDataFrame(const FrameSpec& spec, absl::Span<const uint8_t> payload) {
  std::vector<uint8_t> sctp;
  Put16(sctp, spec.sctp_src_port);
  Put16(sctp, spec.sctp_dst_port);
  Put32(sctp, spec.verification_tag);
  Put32(sctp, 0);  // checksum, filled below
  // DATA chunk (RFC 9260 §3.3.1): U=0, B, E.
  sctp.push_back(kChunkData);
  sctp.push_back(static_cast<uint8_t>((spec.begin ? 0x02 : 0) | (spec.end ? 0x01 : 0)));
  Put16(sctp, static_cast<uint16_t>(16 + payload.size()));
  Put32(sctp, spec.tsn);
  Put16(sctp, spec.stream);
  Put16(sctp, spec.stream_sequence);
  Put32(sctp, spec.ppid);
  sctp.insert(sctp.end(), payload.begin(), payload.end());
  while (sctp.size() % 4) sctp.push_back(0);
  // The CRC32c is stored little-endian-as-computed (RFC 9260 Appendix A).
  uint32_t crc = Crc32c(sctp);
  sctp[8] = static_cast<uint8_t>(crc);
  sctp[9] = static_cast<uint8_t>(crc >> 8);
  sctp[10] = static_cast<uint8_t>(crc >> 16);
  sctp[11] = static_cast<uint8_t>(crc >> 24);
  if (!spec.udp_encapsulation) {
    return Wrap(spec, kIpProtoSctp, sctp);
  }
  return Wrap(spec, kIpProtoUdp, Udp(spec, sctp));
}

std::vector<uint8_t> BuildUdpFrame(const FrameSpec& spec, absl::Span<const uint8_t> payload) {
  return Wrap(spec, kIpProtoUdp, Udp(spec, std::vector<uint8_t>(payload.begin(), payload.end())));
}

bool ParseFrame(LinkType link, absl::Span<const uint8_t> frame, ParsedFrame* out,
                uint16_t encapsulation_port) {
  *out = ParsedFrame();
  const uint8_t* p = frame.data();
  size_t n = frame.size();
  uint16_t ether_type = 0;
  size_t l2 = 0;
  switch (link) {
    case LinkType::kEthernet:
      if (n < 14) return false;
      ether_type = Get16(p + 12);
      l2 = 14;
      if (ether_type == 0x8100 && n >= 18) {  // one VLAN tag
        ether_type = Get16(p + 16);
        l2 = 18;
      }
      break;
    case LinkType::kLinuxSll:
      if (n < 16) return false;
      ether_type = Get16(p + 14);
      l2 = 16;
      break;
    case LinkType::kLinuxSll2:
      if (n < 20) return false;
      ether_type = Get16(p);
      l2 = 20;
      break;
    case LinkType::kNull:
      if (n < 4) return false;
      l2 = 4;
      ether_type = (n > 4 && (p[4] >> 4) == 6) ? kEtherTypeIpv6 : kEtherTypeIpv4;
      break;
    case LinkType::kRaw:
      if (n < 1) return false;
      ether_type = (p[0] >> 4) == 6 ? kEtherTypeIpv6 : kEtherTypeIpv4;
      break;
  }
  p += l2;
  n -= l2;
  uint8_t protocol;
  size_t l3;
  if (ether_type == kEtherTypeIpv4) {
    if (n < 20 || (p[0] >> 4) != 4) return false;
    l3 = (p[0] & 0x0f) * 4u;
    size_t total = Get16(p + 2);
    if (l3 < 20 || total < l3 || total > n) return false;
    if ((Get16(p + 6) & 0x3fff) != 0) return false;  // IP fragments are not reassembled
    n = total;
    protocol = p[9];
    memcpy(out->src_ip, p + 12, 4);
    memcpy(out->dst_ip, p + 16, 4);
  } else if (ether_type == kEtherTypeIpv6) {
    if (n < 40 || (p[0] >> 4) != 6) return false;
    l3 = 40;
    size_t total = 40 + Get16(p + 4);
    if (total > n) return false;
    n = total;
    protocol = p[6];  // extension headers are not followed
    out->ipv6 = true;
    memcpy(out->src_ip, p + 8, 16);
    memcpy(out->dst_ip, p + 24, 16);
  } else {
    return false;
  }
  p += l3;
  n -= l3;
  if (protocol == kIpProtoUdp) {
    if (n < 8) return false;
    size_t udp_length = Get16(p + 4);
    if (udp_length < 8 || udp_length > n) return false;
    uint16_t src = Get16(p);
    uint16_t dst = Get16(p + 2);
    p += 8;
    n = udp_length - 8;
    if (src != encapsulation_port && dst != encapsulation_port) {
      out->carrier = ParsedFrame::Carrier::kUdp;
      out->src_port = src;
      out->dst_port = dst;
      ParsedChunk chunk;
      chunk.payload = absl::MakeConstSpan(p, n);
      out->chunks.push_back(chunk);
      return true;
    }
    out->carrier = ParsedFrame::Carrier::kSctpOverUdp;
  } else if (protocol == kIpProtoSctp) {
    out->carrier = ParsedFrame::Carrier::kSctp;
  } else {
    return false;
  }
  // SCTP common header (RFC 9260 §3.1) and chunks (§3.2).
  if (n < 12) return false;
  out->src_port = Get16(p);
  out->dst_port = Get16(p + 2);
  {
    std::vector<uint8_t> copy(p, p + n);
    uint32_t stored = static_cast<uint32_t>(copy[8]) | static_cast<uint32_t>(copy[9]) << 8 |
                      static_cast<uint32_t>(copy[10]) << 16 | static_cast<uint32_t>(copy[11]) << 24;
    memset(&copy[8], 0, 4);
    out->checksum_ok = Crc32c(copy) == stored;
  }
  size_t at = 12;
  while (at + 4 <= n) {
    uint8_t type = p[at];
    uint8_t flags = p[at + 1];
    size_t length = Get16(p + at + 2);
    if (length < 4 || at + length > n) break;
    if (type == kChunkData && length >= 16) {
      ParsedChunk chunk;
      chunk.tsn = Get32(p + at + 4);
      chunk.stream = Get16(p + at + 8);
      chunk.stream_sequence = Get16(p + at + 10);
      chunk.ppid = Get32(p + at + 12);
      chunk.begin = flags & 0x02;
      chunk.end = flags & 0x01;
      chunk.payload = absl::MakeConstSpan(p + at + 16, length - 16);
      out->chunks.push_back(chunk);
    }
    at += (length + 3) & ~size_t{3};
  }
  return true;
}

}  // namespace rspd::dataplane
