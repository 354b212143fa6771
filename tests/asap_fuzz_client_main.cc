// A fuzzing ASAP client: sends --count messages over one real SCTP
// association to a registrar, each a random mutation (bit flips, byte
// changes, truncation, insertion, length-field changes) of one of every ASAP
// message, and counts the ASAP_ERRORs that come back. Exit status 0 if the
// association survived and the registrar answered a final handle resolution.
//
// Usage: asap_fuzz_client --registrar=127.0.0.1:PORT --count=N [--seed=S]

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "client/asap_session.h"
#include "client/sctp_association.h"
#include "protocol/codec.h"
#include "protocol/testing/samples.h"

ABSL_FLAG(std::string, registrar, "127.0.0.1:9899", "the registrar, HOST:UDP_PORT");
ABSL_FLAG(int, count, 1000, "malformed messages to send");
ABSL_FLAG(uint64_t, seed, 1, "mutation seed");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using rspd::protocol::Protocol;
  auto registrar = rspd::client::ParseRegistrarAddress(absl::GetFlag(FLAGS_registrar));
  if (!registrar.ok()) return 2;
  auto association = rspd::client::SctpAssociation::Connect(registrar->host, registrar->sctp_port,
                                                            registrar->udp_port, absl::Seconds(5));
  if (!association.ok()) {
    fprintf(stderr, "asap_fuzz_client: %s\n", std::string(association.status().message()).c_str());
    return 1;
  }
  std::vector<std::vector<uint8_t>> seeds;
  for (const auto& s : rspd::protocol::testing::AllSamples()) {
    if (s.protocol == Protocol::kAsap) seeds.push_back(s.bytes);
  }
  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));
  const int count = absl::GetFlag(FLAGS_count);
  int sent = 0, errors = 0;
  for (int i = 0; i < count; ++i) {
    std::vector<uint8_t> m = seeds[rng() % seeds.size()];
    switch (rng() % 5) {
      case 0:  // flip a bit
        m[rng() % m.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // truncate, keeping the length field as it was
        m.resize(1 + rng() % m.size());
        break;
      case 2:  // a parameter length set to something odd
        if (m.size() > 8) {
          size_t at = 4 + 2 * (rng() % ((m.size() - 6) / 2));
          m[at + 2] = static_cast<uint8_t>(rng());
          m[at + 3] = static_cast<uint8_t>(rng());
        }
        break;
      case 3:  // an unknown message type, report bits 01
        m[0] = static_cast<uint8_t>(0x40 | (rng() % 0x30 + 0x10));
        break;
      default:  // garbage appended (the message length no longer matches)
        for (int k = 0; k < 5; ++k) m.push_back(static_cast<uint8_t>(rng()));
        break;
    }
    if ((*association)->Send(rspd::protocol::kAsapPpid, m).ok()) ++sent;
    // Drain answers as they come so that the receive queue stays short.
    while (true) {
      auto reply = (*association)->Receive(absl::ZeroDuration());
      if (!reply.ok()) break;
      if (!reply->data.empty() &&
          reply->data[0] == static_cast<uint8_t>(rspd::protocol::AsapType::kError)) {
        ++errors;
      }
    }
  }
  // The registrar still serves this association: a resolution is answered.
  rspd::protocol::Message hr;
  hr.type = static_cast<uint8_t>(rspd::protocol::AsapType::kHandleResolution);
  hr.has_pool_handle = true;
  hr.pool_handle = "victims";
  (void)(*association)->Send(rspd::protocol::kAsapPpid, rspd::protocol::EncodeMessageToVector(hr));
  bool answered = false;
  for (int k = 0; k < 10000 && !answered; ++k) {
    auto reply = (*association)->Receive(absl::Seconds(5));
    if (!reply.ok()) break;
    if (reply->data[0] == static_cast<uint8_t>(rspd::protocol::AsapType::kError)) ++errors;
    answered =
        reply->data[0] == static_cast<uint8_t>(rspd::protocol::AsapType::kHandleResolutionResponse);
  }
  printf("sent %d malformed messages, %d ASAP_ERROR answers, association %s, resolution %s\n", sent,
         errors, (*association)->connected() ? "up" : "down", answered ? "answered" : "unanswered");
  return (*association)->connected() && answered ? 0 : 1;
}
