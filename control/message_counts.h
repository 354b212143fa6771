// File: control/message_counts.h
//
// ASAP or ENRP messages counted by type, received and sent (RFC 5352 §2,
// RFC 5353 §2 define the types): the metrics' per-type counters
// (docs/management.md). One thread writes them (relaxed load and store, no
// read-modify-write); any thread reads them.
//
// Example:
//   MessageCounts counts;
//   counts.Received(m.type);
//   counts.ForEach([](uint8_t type, uint64_t received, uint64_t sent) { ... });

#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace rspd::control {

class MessageCounts {
 public:
  // Types 1-15 have their own counters (ASAP's go to 0x0e, ENRP's to 0x0a);
  // every other type is counted as 0, "unknown".
  static constexpr size_t kTypes = 16;

  void Received(uint8_t type) { Bump(received_[Slot(type)]); }
  void Sent(uint8_t type) { Bump(sent_[Slot(type)]); }
  // Calls fn(type, received, sent) for every slot (type 0: the unknown ones).
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (size_t t = 0; t < kTypes; ++t) {
      fn(static_cast<uint8_t>(t), received_[t].load(std::memory_order_relaxed),
         sent_[t].load(std::memory_order_relaxed));
    }
  }

 private:
  static size_t Slot(uint8_t type) { return type < kTypes ? type : 0; }
  static void Bump(std::atomic<uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::array<std::atomic<uint64_t>, kTypes> received_{};
  std::array<std::atomic<uint64_t>, kTypes> sent_{};
};

}  // namespace rspd::control
