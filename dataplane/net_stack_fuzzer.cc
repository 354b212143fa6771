// libFuzzer target for the L2/L3 path of the DPDK packet I/O (net_stack.h):
// every received frame goes through NetStack::Input, which rewrites answers
// in place. The input is a sequence of frames, each preceded by a 2-byte
// length; the stack keeps its neighbor cache and held packets across them,
// and every few frames it builds a frame toward the last sender and polls.
// Input must never read or write outside a frame's buffer (ASan), a
// delivered payload must lie inside the frame, and an answer must fit the
// buffer.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dataplane/net_stack.h"

namespace {

using rspd::dataplane::Endpoint;
using rspd::dataplane::NetStack;

NetStack::Config FuzzConfig() {
  NetStack::Config c;
  c.mac = {0x02, 0, 0, 0, 0, 0x02};
  c.addresses = {{*rspd::protocol::IpAddress::Parse("10.0.0.1"), 24},
                 {*rspd::protocol::IpAddress::Parse("fd00::1"), 64}};
  c.ipv4_gateway = rspd::protocol::IpAddress::Parse("10.0.0.254");
  c.max_neighbors = 16;
  return c;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "net_stack_fuzzer: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  NetStack stack(FuzzConfig());
  uint64_t now = 1;
  std::vector<uint8_t> out(2048);
  for (size_t at = 0; at + 2 <= size;) {
    const size_t length = std::min<size_t>(size - at - 2, size_t{data[at]} << 8 | data[at + 1]);
    at += 2;
    // The frame in a buffer of its own size plus the room an answer needs:
    // ASan sees any access past either.
    const size_t capacity = length + (data[at - 1] & 1 ? 86 : 0);
    std::vector<uint8_t> frame(data + at, data + at + length);
    frame.resize(capacity);
    at += length;
    NetStack::Received r;
    switch (stack.Input(frame.data(), length, capacity, now, &r)) {
      case NetStack::Verdict::kDeliver:
        Check(r.payload.data() >= frame.data() &&
                  r.payload.data() + r.payload.size() <= frame.data() + length,
              "payload outside the frame");
        stack.BuildFrame(r.from, r.payload, absl::MakeSpan(out), now);
        break;
      case NetStack::Verdict::kReply:
        Check(r.reply_length <= capacity && r.reply_length >= 42, "answer outside the buffer");
        break;
      case NetStack::Verdict::kDrop:
        break;
    }
    now += 300;
    stack.Poll(now, [&](absl::Span<const uint8_t> f) {
      Check(f.size() >= 42 && f.size() <= out.size(), "polled frame of a strange size");
    });
  }
  return 0;
}
