// Writes a pcap with one of every ASAP/ENRP message (protocol/testing/samples),
// for `rspctl decode` tests: alternating SCTP over UDP and native SCTP over
// IPv4 and IPv6, one message split over two DATA chunks, one announce over
// plain UDP and one non-RSerPool DATA chunk. With --malformed, one broken
// ASAP message is appended.
//
// Usage: sample_pcap OUT.pcap [--malformed]

#include <pcap/pcap.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/frames.h"
#include "protocol/testing/samples.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s OUT.pcap [--malformed]\n", argv[0]);
    return 2;
  }
  using rspd::dataplane::BuildSctpDataFrame;
  using rspd::dataplane::FrameSpec;
  std::vector<std::vector<uint8_t>> frames;
  std::vector<rspd::protocol::testing::Sample> samples = rspd::protocol::testing::AllSamples();
  for (size_t i = 0; i < samples.size(); ++i) {
    FrameSpec spec;
    bool asap = samples[i].protocol == rspd::protocol::Protocol::kAsap;
    spec.ppid = asap ? 11 : 12;
    spec.sctp_dst_port = asap ? 3863 : 9901;
    spec.tsn = static_cast<uint32_t>(i + 1);
    spec.udp_encapsulation = i % 2 == 0;
    if (i % 3 == 0) {
      spec.ipv6 = true;
      memset(spec.src_ip, 0, 16);
      spec.src_ip[15] = 1;
      memcpy(spec.dst_ip, spec.src_ip, 16);
    }
    if (i == 1) {
      // Split the message over two DATA chunks (B, then E).
      size_t half = samples[i].bytes.size() / 2;
      FrameSpec first = spec, second = spec;
      first.end = false;
      second.begin = false;
      second.tsn = spec.tsn + 1000;
      std::vector<uint8_t> a(samples[i].bytes.begin(), samples[i].bytes.begin() + half);
      std::vector<uint8_t> b(samples[i].bytes.begin() + half, samples[i].bytes.end());
      frames.push_back(BuildSctpDataFrame(first, a));
      frames.push_back(BuildSctpDataFrame(second, b));
      continue;
    }
    frames.push_back(BuildSctpDataFrame(spec, samples[i].bytes));
  }
  for (const auto& s : samples) {
    if (s.name == "asap_server_announce") {
      FrameSpec spec;
      spec.udp_src_port = 40000;
      spec.udp_dst_port = 3863;
      frames.push_back(rspd::dataplane::BuildUdpFrame(spec, s.bytes));
    }
  }
  FrameSpec data;
  data.ppid = 0;  // application data: not decoded
  frames.push_back(BuildSctpDataFrame(data, {{'h', 'i'}}));
  if (argc > 2 && std::string(argv[2]) == "--malformed") {
    // ASAP_DEREGISTRATION whose length claims more than was sent.
    frames.push_back(BuildSctpDataFrame(FrameSpec(), {{0x02, 0x00, 0x00, 0x40}}));
  }

  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, argv[1]);
  if (dumper == nullptr) {
    fprintf(stderr, "%s\n", pcap_geterr(dead));
    return 1;
  }
  for (size_t i = 0; i < frames.size(); ++i) {
    pcap_pkthdr header{};
    header.ts.tv_sec = static_cast<time_t>(1000 + i);
    header.caplen = header.len = static_cast<uint32_t>(frames[i].size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frames[i].data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
  printf("%zu\n", samples.size() + 1);  // messages: samples + the announce
  return 0;
}
