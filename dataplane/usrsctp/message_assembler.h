// File: dataplane/usrsctp/message_assembler.h
//
// Reassembly of SCTP messages that usrsctp delivers in pieces (partial
// delivery, RFC 6458 §8.1.21): a receive callback gets a piece without
// MSG_EOR whenever a message is larger than what one receive hands over (the
// receive buffer or the partial delivery point). The pieces of one message
// are kept per (socket, association, stream) until the piece with MSG_EOR
// completes it. A message larger than `max_message_size`, or pieces beyond
// `max_total_bytes` in all, are refused: the caller aborts that association
// (the remote keeps sending a message nobody will read).
//
// Pure: no usrsctp call, no lock (the caller serializes its callbacks).
// Depends on absl only.
//
// Example:
//   MessageAssembler assembler({0xffff, 64 << 20});
//   absl::Span<const uint8_t> whole;
//   switch (assembler.Add(socket, assoc, stream, piece, flags & MSG_EOR, &whole)) {
//     case MessageAssembler::Result::kWhole: Deliver(whole); break;
//     case MessageAssembler::Result::kPending: break;
//     case MessageAssembler::Result::kTooLarge: Abort(assoc); break;
//   }

#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"

namespace rspd::dataplane {

class MessageAssembler {
 public:
  struct Options {
    // ASAP and ENRP messages are at most 65535 bytes: their length fields
    // are 16 bits (RFC 5354 §4).
    size_t max_message_size = 0xffff;
    // All messages in pieces together.
    size_t max_total_bytes = 64 << 20;
  };
  enum class Result {
    kWhole,     // `*message` is a whole message, valid until the next call
    kPending,   // a piece is kept; more are to come
    kTooLarge,  // past a limit: the association's pieces are dropped
  };

  explicit MessageAssembler(const Options& options) : options_(options) {}
  MessageAssembler(const MessageAssembler&) = delete;
  MessageAssembler& operator=(const MessageAssembler&) = delete;

  // One piece received on `socket` (any pointer naming the receiving
  // socket), association `assoc`, stream `stream`; `end_of_record` is its
  // MSG_EOR. A whole message delivered in one piece is passed through without
  // a copy.
  Result Add(const void* socket, uint32_t assoc, uint16_t stream, absl::Span<const uint8_t> piece,
             bool end_of_record, absl::Span<const uint8_t>* message);
  // The association is gone (or aborted): its pieces are dropped.
  void Drop(const void* socket, uint32_t assoc);
  // The socket is closed: the pieces of all its associations are dropped.
  void Drop(const void* socket);

  // Bytes held in pieces, and messages in pieces.
  size_t bytes() const { return bytes_; }
  size_t pending() const { return pending_; }

 private:
  // Per socket, so that closing one or ending one of its associations
  // touches only that socket's pieces: (association, stream) -> the pieces.
  using Pieces = absl::flat_hash_map<std::pair<uint32_t, uint16_t>, std::vector<uint8_t>>;

  Options options_;
  absl::flat_hash_map<const void*, Pieces> partial_;
  size_t pending_ = 0;
  size_t bytes_ = 0;
  std::vector<uint8_t> completed_;  // the last message completed from pieces
};

}  // namespace rspd::dataplane
