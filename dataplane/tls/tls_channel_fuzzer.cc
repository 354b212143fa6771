// libFuzzer target for what a secure registrar port does with the bytes of
// the SCTP messages an unauthenticated peer sends (tls_channel.h): the input
// is cut into SCTP messages, each preceded by a 1-byte length, and given to
// a fresh server channel that requires authentication. Nothing may be
// delivered before a handshake that no input can complete (it needs a
// client key or PSK the fuzzer does not have), the channel must not crash
// or leak (ASan), and its output must come in bounded pieces.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "dataplane/tls/testing/test_pki.h"
#include "dataplane/tls/tls_channel.h"

namespace {

using rspd::dataplane::tls::TlsChannel;
using rspd::dataplane::tls::TlsContext;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tls_channel_fuzzer: %s\n", what);
    std::abort();
  }
}

const TlsContext* ServerContext() {
  static const TlsContext* context = [] {
    char dir[] = "/tmp/rspd-tls-fuzzer-XXXXXX";
    Check(mkdtemp(dir) != nullptr, "mkdtemp");
    auto ca = rspd::dataplane::tls::testing::TestAuthority::Create(dir, "fuzz CA");
    Check(ca.ok(), "test CA");
    auto issued = (*ca)->Issue("pr.fuzz");
    rspd::dataplane::tls::TlsOptions options;
    options.certificate_file = issued.certificate_file;
    options.private_key_file = issued.key_file;
    options.ca_file = (*ca)->certificate_file();
    options.psk_file = std::string(dir) + "/psk.txt";
    rspd::dataplane::tls::testing::WritePskFile(options.psk_file, {"pe-1"});
    options.min_version = "1.2";  // both protocol versions' parsers
    auto context = TlsContext::Create(options, rspd::dataplane::tls::TlsRole::kServer);
    Check(context.ok(), "server context");
    return context->release();
  }();
  return context;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  TlsChannel channel(ServerContext());
  size_t at = 0;
  while (at < size && channel.state() != TlsChannel::State::kFailed) {
    size_t length = std::min<size_t>(data[at], size - at - 1);
    (void)channel.Receive({data + at + 1, length}, [](absl::Span<const uint8_t>) {
      Check(false, "a message was delivered without a handshake");
    });
    for (const auto& piece : channel.TakeOutput()) {
      Check(!piece.empty() && piece.size() <= TlsChannel::kMaxOutputPiece, "output piece size");
    }
    at += 1 + length;
  }
  Check(channel.state() != TlsChannel::State::kOpen, "a handshake completed");
  return 0;
}
