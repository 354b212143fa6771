// libFuzzer target for the frame parser (what `rspctl decode` and the packet
// path feed with captured or received bytes). The first input byte picks the
// link type. ParseFrame must never crash or read outside the frame (ASan),
// and every chunk it returns must lie inside the frame.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "dataplane/frames.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rspd::dataplane::LinkType;
  if (size < 1) return 0;
  static const LinkType kLinks[] = {LinkType::kEthernet, LinkType::kRaw, LinkType::kLinuxSll,
                                    LinkType::kLinuxSll2, LinkType::kNull};
  const LinkType link = kLinks[data[0] % 5];
  std::vector<uint8_t> frame(data + 1, data + size);  // exact size: ASan sees overreads
  rspd::dataplane::ParsedFrame parsed;
  if (rspd::dataplane::ParseFrame(link, frame, &parsed, static_cast<uint16_t>(9899))) {
    for (const rspd::dataplane::ParsedChunk& c : parsed.chunks) {
      if (c.payload.data() < frame.data() ||
          c.payload.data() + c.payload.size() > frame.data() + frame.size()) {
        fprintf(stderr, "frames_fuzzer: chunk outside the frame\n");
        abort();
      }
    }
  }
  return 0;
}
