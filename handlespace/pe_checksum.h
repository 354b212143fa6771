// File: handlespace/pe_checksum.h
//
// The ENRP PE checksum (RFC 5353 §3.6.2): the 16-bit Internet checksum
// (RFC 1071) over, for every PE a registrar owns, the byte block
//   pool handle, zero-padded to a 32-bit boundary || PE identifier (4 octets,
//   network byte order).
// Every block is a multiple of 4 bytes long, so the 16-bit word alignment of
// each block is the same wherever it sits in the stream: the checksum is the
// one's-complement sum of the blocks' 16-bit words, in any order.
//
// Incremental form (RFC 5353 §3.6.2 implementation note): an owner keeps the
// plain integer sum of all its blocks' 16-bit words in 64 bits. Adding or
// removing a PE adds or subtracts its block's word sum exactly, so there is no
// one's-complement -0/+0 ambiguity (RFC 1624): folding the integer sum yields
// bit for bit what a from-scratch RFC 1071 computation yields.
//
// Example:
//   uint64_t acc = 0;
//   const uint32_t handle_sum = HandleWordSum("pool000001");
//   acc += PeBlockSum(handle_sum, pe_id);   // PE added
//   uint16_t checksum = FinishChecksum(acc);

#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace rspd::handlespace {

// Integer sum of the big-endian 16-bit words of `handle` zero-padded to a
// multiple of 4 bytes (RFC 5353 §3.6.2). At most 2^15 words * 0xffff: fits.
inline uint32_t HandleWordSum(absl::string_view handle) {
  uint32_t sum = 0;
  const size_t n = handle.size();
  for (size_t i = 0; i < n; i += 2) {
    const uint32_t hi = static_cast<uint8_t>(handle[i]);
    const uint32_t lo = i + 1 < n ? static_cast<uint8_t>(handle[i + 1]) : 0;
    sum += hi << 8 | lo;
  }
  return sum;  // padding bytes are zero and add nothing
}

// Word sum of one PE's block: the handle's words plus the PE ID's two words.
inline uint64_t PeBlockSum(uint32_t handle_word_sum, uint32_t pe_id) {
  return uint64_t{handle_word_sum} + (pe_id >> 16) + (pe_id & 0xffff);
}

// RFC 1071: fold the carries into 16 bits and take the one's complement.
inline uint16_t FinishChecksum(uint64_t word_sum) {
  while (word_sum >> 16) {
    word_sum = (word_sum & 0xffff) + (word_sum >> 16);
  }
  return static_cast<uint16_t>(~word_sum & 0xffff);
}

// Reference RFC 1071 over a byte stream (tests and audits; not incremental).
inline uint16_t InternetChecksum(absl::Span<const uint8_t> bytes) {
  uint64_t sum = 0;
  for (size_t i = 0; i < bytes.size(); i += 2) {
    const uint32_t hi = bytes[i];
    const uint32_t lo = i + 1 < bytes.size() ? bytes[i + 1] : 0;
    sum += hi << 8 | lo;
  }
  return FinishChecksum(sum);
}

}  // namespace rspd::handlespace
