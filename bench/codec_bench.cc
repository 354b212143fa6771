// Decode and encode rates of the ASAP/ENRP codec (issue: wire format).
//   bazel run -c opt //bench:codec_bench
// Messages as the registrar sends them: HANDLE_RESOLUTION_RESPONSE with 1, 3
// and 32 PEs (SCTP, two IPv4 addresses, Least Used) and an
// ENRP_HANDLE_TABLE_RESPONSE with 128 PEs in one pool. "Decode" is
// DecodeMessage (full validation, views filled); "DecodeAndWalk" also
// iterates every PE and address as a client does; "Encode" writes the
// message from PE values into a buffer.

#include <array>
#include <cstring>
#include <vector>

#include "benchmark/benchmark.h"
#include "protocol/codec.h"
#include "protocol/testing/samples.h"
#include "tests/rsplib_parser.h"

namespace rspd::protocol {
namespace {

// Reads every field a PU or peer would use, so that lazy views are paid for.
uint64_t Consume(const Message& m) {
  uint64_t sum = 0;
  auto pe = [&sum](const PoolElementView& e) {
    sum += e.pe_id + e.user_transport.port + e.policy.values[0];
    for (const IpAddress& a : e.user_transport.addresses) sum += a.bytes[15];
  };
  for (const PoolElementView& e : m.pool_elements) pe(e);
  for (const PoolEntry& entry : m.pool_entries) {
    for (const PoolElementView& e : entry.elements) pe(e);
  }
  return sum;
}

// Decodes `bytes` once per iteration, and with kWalk also reads every PE
// (Consume); items are messages, bytes their size.
template <bool kWalk>
void DecodeLoop(benchmark::State& state, Protocol protocol, const std::vector<uint8_t>& bytes) {
  Message m;
  DecodeError error;
  if (!DecodeMessage(protocol, bytes, &m, &error)) {
    state.SkipWithError("the sample does not decode");
    return;
  }
  for (auto _ : state) {
    bool ok = DecodeMessage(protocol, bytes, &m, &error);
    benchmark::DoNotOptimize(ok);
    if constexpr (kWalk) {
      benchmark::DoNotOptimize(Consume(m));
    } else {
      benchmark::DoNotOptimize(m);
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}

void BM_Codec_DecodeAndWalk_HandleResolutionResponse(benchmark::State& state) {
  DecodeLoop<true>(state, Protocol::kAsap,
                   testing::HandleResolutionResponse(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_Codec_DecodeAndWalk_HandleResolutionResponse)->Arg(1)->Arg(3)->Arg(32);

// DecodeMessage alone: validates everything and fills the views; the PE
// list is then iterated lazily by whoever needs it.
void BM_Codec_Decode_HandleResolutionResponse(benchmark::State& state) {
  DecodeLoop<false>(state, Protocol::kAsap,
                    testing::HandleResolutionResponse(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_Codec_Decode_HandleResolutionResponse)->Arg(1)->Arg(3)->Arg(32);

// Baseline: RSPLIB's parser (rserpoolPacket2Message, Debian librsplib3) on
// the same bytes. It builds its PE list on the heap, and parses in place, so
// each iteration also copies the message (a ~10 ns memcpy).
void BM_Codec_DecodeRsplib_HandleResolutionResponse(benchmark::State& state) {
  std::vector<uint8_t> bytes = testing::HandleResolutionResponse(static_cast<int>(state.range(0)));
  std::vector<char> copy(bytes.size());
  for (auto _ : state) {
    memcpy(copy.data(), bytes.data(), bytes.size());
    RSerPoolMessage* message = nullptr;
    rserpoolPacket2Message(copy.data(), nullptr, 0, kAsapPpid, copy.size(), copy.size(), &message);
    if (message == nullptr || message->error != 0) {
      state.SkipWithError("RSPLIB rejected the message");
      break;
    }
    rserpoolMessageDelete(message);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Codec_DecodeRsplib_HandleResolutionResponse)->Arg(1)->Arg(3)->Arg(32);

void BM_Codec_DecodeAndWalk_HandleTableResponse(benchmark::State& state) {
  DecodeLoop<true>(state, Protocol::kEnrp,
                   testing::HandleTableResponse(1, static_cast<int>(state.range(0))));
}
BENCHMARK(BM_Codec_DecodeAndWalk_HandleTableResponse)->Arg(128);

void BM_Codec_Decode_HandleTableResponse(benchmark::State& state) {
  DecodeLoop<false>(state, Protocol::kEnrp,
                    testing::HandleTableResponse(1, static_cast<int>(state.range(0))));
}
BENCHMARK(BM_Codec_Decode_HandleTableResponse)->Arg(128);

// PE values as the registrar holds them.
struct PeValues {
  std::array<IpAddress, 2> user_addresses = {IpAddress::V4(0x0a000001), IpAddress::V4(0x0a000002)};
  std::array<IpAddress, 1> asap_addresses = {IpAddress::V4(0x0a000001)};
  std::vector<PoolElementView> pes;

  explicit PeValues(int count) {
    for (int i = 0; i < count; ++i) {
      PoolElementView e;
      e.pe_id = static_cast<uint32_t>(i + 1) * 2654435761u;
      e.home_registrar = 1;
      e.registration_life = 300;
      e.user_transport.type = ParamType::kSctpTransport;
      e.user_transport.port = static_cast<uint16_t>(20000 + i);
      e.user_transport.addresses = ParamList<IpAddress>(user_addresses);
      e.policy = Policy::Of(PolicyType::kLeastUsed, {static_cast<uint32_t>(i) << 20});
      e.has_asap_transport = true;
      e.asap_transport.type = ParamType::kSctpTransport;
      e.asap_transport.port = 30000;
      e.asap_transport.addresses = ParamList<IpAddress>(asap_addresses);
      pes.push_back(e);
    }
  }
};

// Encodes `m` once per iteration; items are messages, bytes their size.
void EncodeLoop(benchmark::State& state, const Message& m) {
  std::vector<uint8_t> buffer(65536);
  const size_t size = EncodeMessage(m, absl::MakeSpan(buffer));
  if (size == 0) {
    state.SkipWithError("encoding failed");
    return;
  }
  for (auto _ : state) {
    size_t n = EncodeMessage(m, absl::MakeSpan(buffer));
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

void BM_Codec_Encode_HandleResolutionResponse(benchmark::State& state) {
  PeValues values(static_cast<int>(state.range(0)));
  Message m;
  m.type = static_cast<uint8_t>(AsapType::kHandleResolutionResponse);
  m.has_pool_handle = true;
  m.pool_handle = "pool000001";
  m.has_policy = true;
  m.policy = Policy::Of(PolicyType::kLeastUsed, {0});
  m.pool_elements = ParamList<PoolElementView>(values.pes);
  EncodeLoop(state, m);
}
BENCHMARK(BM_Codec_Encode_HandleResolutionResponse)->Arg(1)->Arg(3)->Arg(32);

void BM_Codec_Encode_HandleTableResponse(benchmark::State& state) {
  PeValues values(static_cast<int>(state.range(0)));
  Message m;
  m.protocol = Protocol::kEnrp;
  m.type = static_cast<uint8_t>(EnrpType::kHandleTableResponse);
  m.sender_id = 1;
  m.receiver_id = 2;
  PoolEntry entry{"pool000001", ParamList<PoolElementView>(values.pes)};
  m.pool_entries = ParamList<PoolEntry>(absl::MakeConstSpan(&entry, 1));
  EncodeLoop(state, m);
}
BENCHMARK(BM_Codec_Encode_HandleTableResponse)->Arg(128);

}  // namespace
}  // namespace rspd::protocol
