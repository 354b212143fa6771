// Writes the codec fuzzer's seed corpus: one file per sample message, its
// first byte the protocol (0 ASAP, 1 ENRP) as codec_fuzzer.cc expects.
// Usage: write_corpus DIR
#include <cstdio>
#include <fstream>

#include "protocol/testing/samples.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  for (const auto& s : rspd::protocol::testing::AllSamples()) {
    std::ofstream out(std::string(argv[1]) + "/" + s.name, std::ios::binary);
    out.put(s.protocol == rspd::protocol::Protocol::kAsap ? 0 : 1);
    out.write(reinterpret_cast<const char*>(s.bytes.data()), static_cast<long>(s.bytes.size()));
  }
  return 0;
}
