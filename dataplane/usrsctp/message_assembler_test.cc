// File: dataplane/usrsctp/message_assembler_test.cc
//
// Reassembly of partial deliveries (RFC 6458 §8.1.21): pieces are joined per
// (socket, association, stream) until MSG_EOR; a message past the size cap,
// or pieces past the budget, are refused and the association's pieces
// dropped.

#include "dataplane/usrsctp/message_assembler.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace rspd::dataplane {
namespace {

using Result = MessageAssembler::Result;

std::vector<uint8_t> Bytes(size_t n, uint8_t value) { return std::vector<uint8_t>(n, value); }

TEST(MessageAssemblerTest, PassesAWholeMessageThroughWithoutACopy) {
  MessageAssembler assembler({100, 1000});
  const std::vector<uint8_t> piece = Bytes(10, 1);
  absl::Span<const uint8_t> whole;
  ASSERT_EQ(assembler.Add(nullptr, 1, 0, piece, true, &whole), Result::kWhole);
  EXPECT_EQ(whole.data(), piece.data());
  EXPECT_EQ(whole.size(), 10u);
  EXPECT_EQ(assembler.bytes(), 0u);
}

TEST(MessageAssemblerTest, JoinsPiecesUntilEndOfRecord) {
  MessageAssembler assembler({100, 1000});
  absl::Span<const uint8_t> whole;
  EXPECT_EQ(assembler.Add(nullptr, 1, 0, Bytes(10, 1), false, &whole), Result::kPending);
  EXPECT_EQ(assembler.Add(nullptr, 1, 0, Bytes(20, 2), false, &whole), Result::kPending);
  EXPECT_EQ(assembler.bytes(), 30u);
  EXPECT_EQ(assembler.pending(), 1u);
  ASSERT_EQ(assembler.Add(nullptr, 1, 0, Bytes(5, 3), true, &whole), Result::kWhole);
  std::vector<uint8_t> expected = Bytes(10, 1);
  for (uint8_t b : Bytes(20, 2)) expected.push_back(b);
  for (uint8_t b : Bytes(5, 3)) expected.push_back(b);
  EXPECT_EQ(std::vector<uint8_t>(whole.begin(), whole.end()), expected);
  EXPECT_EQ(assembler.bytes(), 0u);
  EXPECT_EQ(assembler.pending(), 0u);
}

TEST(MessageAssemblerTest, KeepsAssociationsStreamsAndSocketsApart) {
  MessageAssembler assembler({100, 1000});
  int a = 0, b = 0;
  absl::Span<const uint8_t> whole;
  EXPECT_EQ(assembler.Add(&a, 1, 0, Bytes(3, 1), false, &whole), Result::kPending);
  EXPECT_EQ(assembler.Add(&a, 2, 0, Bytes(3, 2), false, &whole), Result::kPending);
  EXPECT_EQ(assembler.Add(&a, 1, 1, Bytes(3, 3), false, &whole), Result::kPending);
  EXPECT_EQ(assembler.Add(&b, 1, 0, Bytes(3, 4), false, &whole), Result::kPending);
  EXPECT_EQ(assembler.pending(), 4u);
  ASSERT_EQ(assembler.Add(&a, 2, 0, Bytes(1, 2), true, &whole), Result::kWhole);
  EXPECT_EQ(std::vector<uint8_t>(whole.begin(), whole.end()), Bytes(4, 2));
  ASSERT_EQ(assembler.Add(&b, 1, 0, Bytes(1, 4), true, &whole), Result::kWhole);
  EXPECT_EQ(std::vector<uint8_t>(whole.begin(), whole.end()), Bytes(4, 4));
  EXPECT_EQ(assembler.bytes(), 6u);
}

// ASAP and ENRP messages are at most 65535 bytes (RFC 5354 §4): one that
// grows past the cap is refused, and its pieces are gone.
TEST(MessageAssemblerTest, RefusesAMessagePastTheCap) {
  MessageAssembler assembler({100, 1000});
  absl::Span<const uint8_t> whole;
  EXPECT_EQ(assembler.Add(nullptr, 1, 0, Bytes(60, 1), false, &whole), Result::kPending);
  EXPECT_EQ(assembler.Add(nullptr, 1, 0, Bytes(41, 1), false, &whole), Result::kTooLarge);
  EXPECT_EQ(assembler.bytes(), 0u);
  EXPECT_EQ(assembler.pending(), 0u);
  EXPECT_EQ(assembler.Add(nullptr, 2, 0, Bytes(101, 1), true, &whole), Result::kTooLarge);
}

TEST(MessageAssemblerTest, RefusesPiecesPastTheBudget) {
  MessageAssembler assembler({100, 150});
  absl::Span<const uint8_t> whole;
  EXPECT_EQ(assembler.Add(nullptr, 1, 0, Bytes(90, 1), false, &whole), Result::kPending);
  EXPECT_EQ(assembler.Add(nullptr, 2, 0, Bytes(50, 1), false, &whole), Result::kPending);
  EXPECT_EQ(assembler.Add(nullptr, 2, 0, Bytes(20, 1), false, &whole), Result::kTooLarge);
  EXPECT_EQ(assembler.bytes(), 90u);  // association 2's pieces dropped, 1's kept
  // A message whole in one piece takes nothing from the budget.
  EXPECT_EQ(assembler.Add(nullptr, 3, 0, Bytes(100, 1), true, &whole), Result::kWhole);
}

TEST(MessageAssemblerTest, DropsAnAssociationOrASocket) {
  MessageAssembler assembler({100, 1000});
  int a = 0, b = 0;
  absl::Span<const uint8_t> whole;
  assembler.Add(&a, 1, 0, Bytes(3, 1), false, &whole);
  assembler.Add(&a, 1, 1, Bytes(3, 1), false, &whole);
  assembler.Add(&a, 2, 0, Bytes(3, 1), false, &whole);
  assembler.Add(&b, 1, 0, Bytes(3, 1), false, &whole);
  assembler.Drop(&a, 1);
  EXPECT_EQ(assembler.pending(), 2u);
  EXPECT_EQ(assembler.bytes(), 6u);
  assembler.Drop(&a);
  EXPECT_EQ(assembler.pending(), 1u);
  EXPECT_EQ(assembler.bytes(), 3u);
  // A new message starts from nothing after a drop.
  ASSERT_EQ(assembler.Add(&b, 1, 0, Bytes(2, 5), true, &whole), Result::kWhole);
  EXPECT_EQ(whole.size(), 5u);
}

}  // namespace
}  // namespace rspd::dataplane
