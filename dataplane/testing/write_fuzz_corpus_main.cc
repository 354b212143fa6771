// Writes the seed corpora of the dataplane fuzzers: frames (one of every
// ASAP/ENRP sample in each link type and carrier) and SCTP packets (an INIT,
// and DATA chunks carrying the samples).
// Usage: write_fuzz_corpus FRAMES_DIR SCTP_DIR
#include <fstream>
#include <string>
#include <vector>

#include "dataplane/frames.h"
#include "protocol/testing/samples.h"

namespace {

void Write(const std::string& path, uint8_t first, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.put(static_cast<char>(first));
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
}

void Put32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  using rspd::dataplane::FrameSpec;
  int n = 0;
  for (const auto& s : rspd::protocol::testing::AllSamples()) {
    FrameSpec spec;
    spec.udp_encapsulation = n % 2 == 0;
    std::vector<uint8_t> frame = rspd::dataplane::BuildSctpDataFrame(spec, s.bytes);
    Write(std::string(argv[1]) + "/" + s.name, 0, frame);  // link 0: Ethernet
    // The SCTP packet alone (after Ethernet, IPv4 and, if any, UDP).
    size_t offset = 14 + 20 + (spec.udp_encapsulation ? 8 : 0);
    Write(std::string(argv[2]) + "/" + s.name, static_cast<uint8_t>(n),
          std::vector<uint8_t>(frame.begin() + static_cast<long>(offset), frame.end()));
    ++n;
  }
  // An SCTP INIT to port 3863 (RFC 9260 §3.3.2), with a valid CRC32c.
  std::vector<uint8_t> init = {0x9c, 0x40, 0x0f, 0x17};  // ports 40000 -> 3863
  Put32(init, 0);                                        // verification tag 0 for INIT
  Put32(init, 0);                                        // checksum, below
  init.insert(init.end(), {1, 0, 0, 20});
  Put32(init, 0x11223344);  // initiate tag
  Put32(init, 65536);       // a_rwnd
  init.insert(init.end(), {0, 10, 0, 10});
  Put32(init, 1);  // initial TSN
  uint32_t crc = rspd::dataplane::Crc32c(init);
  for (int i = 0; i < 4; ++i) init[8 + i] = static_cast<uint8_t>(crc >> (8 * i));
  Write(std::string(argv[2]) + "/init", 0, init);
  return 0;
}
