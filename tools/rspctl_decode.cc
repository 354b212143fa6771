// `rspctl decode FILE`: prints every ASAP and ENRP message in a pcap or pcapng
// capture, one line (or, with --json, one JSON object) per message. Finds
// them in native SCTP, SCTP over UDP (RFC 6951, --encapsulation_port) by PPID
// 11/12, and in plain UDP to or from the ASAP/ENRP ports (announces).
// Exits 1 if any message was malformed, 2 if the file cannot be read.

#include <pcap/pcap.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "dataplane/frames.h"
#include "protocol/address.h"
#include "protocol/codec.h"
#include "protocol/describe.h"
#include "tools/rspctl_commands.h"
#include "tools/rspctl_flags.h"

ABSL_FLAG(int64_t, encapsulation_port, rspd::protocol::kSctpUdpEncapsulationPort,
          "decode: UDP port of SCTP over UDP encapsulation (RFC 6951), 1 to 65535");

namespace rspd::tools {
namespace {

using dataplane::ParsedFrame;
using protocol::Protocol;

std::string Endpoint(const ParsedFrame& f, bool source) {
  const uint8_t* ip = source ? f.src_ip : f.dst_ip;
  const protocol::IpAddress a =
      f.ipv6 ? protocol::IpAddress::V6(ip) : protocol::IpAddress::V4(protocol::Load32(ip));
  return protocol::JoinHostPort(a, source ? f.src_port : f.dst_port);
}

// Reassembles SCTP user messages that span several DATA chunks (B ... E).
class Reassembler {
 public:
  // Returns true and fills *message when `chunk` completes one.
  bool Add(const ParsedFrame& f, const dataplane::ParsedChunk& chunk,
           std::vector<uint8_t>* message) {
    Key key{std::string(reinterpret_cast<const char*>(f.src_ip), 16),
            std::string(reinterpret_cast<const char*>(f.dst_ip), 16),
            f.src_port,
            f.dst_port,
            chunk.stream,
            chunk.stream_sequence};
    if (chunk.begin && chunk.end) {
      message->assign(chunk.payload.begin(), chunk.payload.end());
      return true;
    }
    std::vector<uint8_t>& partial = partial_[key];
    if (chunk.begin) partial.clear();
    partial.insert(partial.end(), chunk.payload.begin(), chunk.payload.end());
    if (!chunk.end) return false;
    *message = std::move(partial);
    partial_.erase(key);
    return true;
  }

 private:
  using Key = std::tuple<std::string, std::string, uint16_t, uint16_t, uint16_t, uint16_t>;
  std::map<Key, std::vector<uint8_t>> partial_;
};

int RunDecode(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    fprintf(stderr, "usage: rspctl decode [--json] FILE.pcap|FILE.pcapng\n");
    return kUsageError;
  }
  const int64_t port = absl::GetFlag(FLAGS_encapsulation_port);
  if (absl::Status s = CheckRange("--encapsulation_port", port, 1, kMaxPort); !s.ok()) {
    return UsageError("decode", s);
  }
  const uint16_t encapsulation_port = static_cast<uint16_t>(port);
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pcap = pcap_open_offline(args[0].c_str(), error);
  if (pcap == nullptr) {
    fprintf(stderr, "rspctl decode: %s\n", error);
    return 2;
  }
  const bool json = absl::GetFlag(FLAGS_json);
  const auto link = static_cast<dataplane::LinkType>(pcap_datalink(pcap));
  Reassembler reassembler;
  int frame_number = 0, messages = 0, malformed = 0;
  pcap_pkthdr* header;
  const u_char* data;
  while (pcap_next_ex(pcap, &header, &data) == 1) {
    ++frame_number;
    ParsedFrame frame;
    if (!dataplane::ParseFrame(link, absl::MakeConstSpan(data, header->caplen), &frame,
                               encapsulation_port)) {
      continue;
    }
    for (const dataplane::ParsedChunk& chunk : frame.chunks) {
      Protocol proto;
      if (frame.carrier == ParsedFrame::Carrier::kUdp) {
        // RFC 5352 §3.6 announces: UDP to or from the ASAP or ENRP port.
        if (frame.dst_port == protocol::kAsapPort || frame.src_port == protocol::kAsapPort) {
          proto = Protocol::kAsap;
        } else if (frame.dst_port == protocol::kEnrpPort || frame.src_port == protocol::kEnrpPort) {
          proto = Protocol::kEnrp;
        } else {
          continue;
        }
      } else if (chunk.ppid == protocol::kAsapPpid) {
        proto = Protocol::kAsap;
      } else if (chunk.ppid == protocol::kEnrpPpid) {
        proto = Protocol::kEnrp;
      } else {
        continue;  // application data (RFC 5352 §5: data never uses PPID 11)
      }
      std::vector<uint8_t> bytes;
      if (frame.carrier == ParsedFrame::Carrier::kUdp) {
        bytes.assign(chunk.payload.begin(), chunk.payload.end());
      } else if (!reassembler.Add(frame, chunk, &bytes)) {
        continue;
      }
      ++messages;
      protocol::Message message;
      protocol::DecodeError decode_error;
      bool ok = protocol::DecodeMessage(proto, bytes, &message, &decode_error);
      const char* proto_name = proto == Protocol::kAsap ? "asap" : "enrp";
      std::string src = Endpoint(frame, true), dst = Endpoint(frame, false);
      if (!ok) ++malformed;
      if (json) {
        std::string head = absl::StrFormat(
            "{\"frame\":%d,\"time\":%d.%06d,\"src\":\"%s\",\"dst\":\"%s\",\"checksum_ok\":%s",
            frame_number, static_cast<int>(header->ts.tv_sec), static_cast<int>(header->ts.tv_usec),
            src, dst, frame.checksum_ok ? "true" : "false");
        if (ok) {
          std::string body = protocol::MessageToJson(message);
          printf("%s,%s\n", head.c_str(), body.c_str() + 1);
        } else {
          printf(
              "%s,\"proto\":\"%s\",\"malformed\":true,\"reason\":\"%s\",\"cause\":%d,"
              "\"offset\":%u}\n",
              head.c_str(), proto_name, decode_error.reason, static_cast<int>(decode_error.cause),
              decode_error.offset);
        }
      } else if (ok) {
        printf("%d %s > %s %s%s\n", frame_number, src.c_str(), dst.c_str(),
               protocol::DescribeMessage(message).c_str(),
               frame.checksum_ok ? "" : " [bad SCTP checksum]");
      } else {
        printf("%d %s > %s MALFORMED %s: %s (%s at offset %u)\n", frame_number, src.c_str(),
               dst.c_str(), proto_name, decode_error.reason,
               protocol::CauseName(decode_error.cause), decode_error.offset);
      }
    }
  }
  pcap_close(pcap);
  fprintf(stderr, "rspctl decode: %d frames, %d messages, %d malformed\n", frame_number, messages,
          malformed);
  return malformed == 0 ? 0 : 1;
}

}  // namespace

const Command kDecodeCommand = {
    "decode", "print the ASAP/ENRP messages in a pcap/pcapng file ([--json] FILE)", RunDecode};

}  // namespace rspd::tools
