// File: dataplane/crc32c.h
//
// CRC32c (Castagnoli), the checksum of every SCTP packet (RFC 9260 §6.8,
// Appendix A), with the SSE4.2 CRC32 instruction (the build targets corei7)
// and a table fallback. Chains: Crc32c(b, Crc32c(a)) == Crc32c(a ++ b). The
// result is stored in the packet's checksum field as computed, i.e. its
// least significant byte first (RFC 9260 Appendix A).
//
// Example:
//   uint32_t crc = Crc32c(packet);            // packet's checksum field zeroed
//   memcpy(&packet[8], &crc, sizeof(crc));    // little-endian host

#pragma once

#include <cstdint>
#include <cstring>

#include "absl/types/span.h"

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace rspd::dataplane {

inline uint32_t Crc32c(absl::Span<const uint8_t> bytes, uint32_t crc = 0) {
  uint32_t c = ~crc;
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
#if defined(__SSE4_2__)
  uint64_t c64 = c;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    memcpy(&word, p, sizeof(word));
    c64 = _mm_crc32_u64(c64, word);
  }
  c = static_cast<uint32_t>(c64);
  for (; n > 0; --n, ++p) c = _mm_crc32_u8(c, *p);
#else
  for (; n > 0; --n, ++p) {
    c ^= *p;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (c & 1 ? 0x82f63b78u : 0);
  }
#endif
  return ~c;
}

// The CRC32c of an SCTP packet as if its checksum field (bytes 8-11) were
// zero, without writing to it; `packet` is at least 12 bytes.
inline uint32_t SctpChecksum(absl::Span<const uint8_t> packet) {
  static constexpr uint8_t kZero[4] = {0, 0, 0, 0};
  uint32_t crc = Crc32c(packet.subspan(0, 8));
  crc = Crc32c(kZero, crc);
  return Crc32c(packet.subspan(12), crc);
}

}  // namespace rspd::dataplane
