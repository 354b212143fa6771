// File: handlespace/prng.h
//
// A small, fast, seedable pseudo-random generator for the selection policies
// (RFC 5356 §4.3, §4.4, §5.4). The handlespace draws no randomness of its own
// (docs/style.md, "Pure core"): each shard owns one `Prng` seeded explicitly, and tests pass
// a fixed seed so that random selections are reproducible.
//
// The generator is wyrand (Wang Yi, public domain): one 64-bit add and one
// 64x64->128 multiply per draw, passes BigCrush and PractRand. Not for
// cryptography. Bounded draws use Lemire's multiply-shift with rejection,
// which is exactly uniform.
//
// Example:
//   Prng rng(/*seed=*/42);
//   uint64_t i = rng.Uniform(n);  // 0 <= i < n

#pragma once

#include <cstdint>

namespace rspd::handlespace {

class Prng {
 public:
  explicit Prng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    state_ += 0xa0761d6478bd642fULL;
    const unsigned __int128 m =
        static_cast<unsigned __int128>(state_) * (state_ ^ 0xe7037ed1a0b428dbULL);
    return static_cast<uint64_t>(m >> 64) ^ static_cast<uint64_t>(m);
  }

  // Uniform in [0, bound); bound must be > 0.
  uint64_t Uniform(uint64_t bound) {
    unsigned __int128 m = static_cast<unsigned __int128>(Next()) * bound;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < bound) {
      const uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        m = static_cast<unsigned __int128>(Next()) * bound;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

 private:
  uint64_t state_;
};

}  // namespace rspd::handlespace
