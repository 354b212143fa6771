#include "dataplane/tls/tls_channel.h"

#include <openssl/ssl.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "dataplane/tls/testing/test_pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rspd::dataplane::tls {
namespace {

using ::testing::HasSubstr;
using testing::TestAuthority;

// An ASAP-shaped message: type, flags, 16-bit length `length`, then bytes
// of `fill`, padded with zeros to a multiple of 4 (RFC 5354 §4).
std::vector<uint8_t> Message(size_t length, uint8_t fill) {
  std::vector<uint8_t> message(length, fill);
  message[0] = 0x01;
  message[1] = 0;
  message[2] = static_cast<uint8_t>(length >> 8);
  message[3] = static_cast<uint8_t>(length);
  message.resize((length + 3) & ~size_t{3}, 0);
  return message;
}

struct Side {
  std::unique_ptr<TlsChannel> channel;
  std::vector<std::vector<uint8_t>> received;
  absl::Status status;
};

// Carries each side's output to the other, piece by piece (each piece one
// SCTP message), until neither has anything to send.
void Pump(Side& a, Side& b) {
  for (int round = 0; round < 50; ++round) {
    bool moved = false;
    for (auto [from, to] : {std::pair<Side*, Side*>{&a, &b}, {&b, &a}}) {
      for (auto& piece : from->channel->TakeOutput()) {
        EXPECT_LE(piece.size(), TlsChannel::kMaxOutputPiece);
        moved = true;
        absl::Status status = to->channel->Receive(piece, [to](absl::Span<const uint8_t> m) {
          to->received.emplace_back(m.begin(), m.end());
        });
        if (to->status.ok()) to->status = status;
      }
    }
    if (!moved) return;
  }
  ADD_FAILURE() << "the channels kept talking";
}

class TlsChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::getenv("TEST_TMPDIR");
    ca_ = *TestAuthority::Create(dir_, "rspd test CA");
    other_ca_ = *TestAuthority::Create(dir_, "other CA");
    registrar_ = ca_->Issue("pr1.example");
    element_ = ca_->Issue("pe1.example");
  }

  TlsOptions Certificate(const TestAuthority::Issued& issued) const {
    TlsOptions options;
    options.certificate_file = issued.certificate_file;
    options.private_key_file = issued.key_file;
    options.ca_file = ca_->certificate_file();
    return options;
  }

  std::unique_ptr<TlsContext> Context(const TlsOptions& options, TlsRole role) {
    auto context = TlsContext::Create(options, role);
    EXPECT_TRUE(context.ok()) << context.status();
    return context.ok() ? std::move(*context) : nullptr;
  }

  // Runs a handshake between a client and a server context.
  void Connect(const TlsContext* client, const TlsContext* server) {
    client_.channel = std::make_unique<TlsChannel>(client);
    server_.channel = std::make_unique<TlsChannel>(server);
    Pump(client_, server_);
  }

  std::string dir_;
  std::unique_ptr<TestAuthority> ca_;
  std::unique_ptr<TestAuthority> other_ca_;
  TestAuthority::Issued registrar_;
  TestAuthority::Issued element_;
  Side client_;
  Side server_;
};

TEST_F(TlsChannelTest, CertificatesAuthenticateBothSidesAndMessagesKeepTheirBoundaries) {
  auto server = Context(Certificate(registrar_), TlsRole::kServer);
  TlsOptions client_options = Certificate(element_);
  client_options.expected_peer_name = "pr1.example";
  auto client = Context(client_options, TlsRole::kClient);
  Connect(client.get(), server.get());
  ASSERT_TRUE(client_.status.ok()) << client_.status;
  ASSERT_TRUE(server_.status.ok()) << server_.status;
  ASSERT_EQ(client_.channel->state(), TlsChannel::State::kOpen);
  ASSERT_EQ(server_.channel->state(), TlsChannel::State::kOpen);
  EXPECT_EQ(client_.channel->version(), "TLSv1.3");
  EXPECT_EQ(server_.channel->peer().kind, PeerIdentity::Kind::kCertificate);
  EXPECT_EQ(server_.channel->peer().name, "pe1.example");
  EXPECT_EQ(client_.channel->peer().name, "pr1.example");

  // Small, largest and many messages, each whole at the other end.
  std::vector<std::vector<uint8_t>> sent = {Message(4, 0), Message(100, 1), Message(0xffff, 2)};
  for (int i = 0; i < 50; ++i) sent.push_back(Message(20 + static_cast<size_t>(i), 3));
  for (const auto& m : sent) ASSERT_TRUE(client_.channel->Send(m).ok());
  Pump(client_, server_);
  EXPECT_EQ(server_.received, sent);
  ASSERT_TRUE(server_.channel->Send(Message(8, 9)).ok());
  Pump(client_, server_);
  EXPECT_EQ(client_.received, std::vector<std::vector<uint8_t>>{Message(8, 9)});
}

TEST_F(TlsChannelTest, AnUnpaddedMessageArrivesPaddedAndTheNextOneWhole) {
  auto server = Context(Certificate(registrar_), TlsRole::kServer);
  auto client = Context(Certificate(element_), TlsRole::kClient);
  Connect(client.get(), server.get());
  ASSERT_EQ(server_.channel->state(), TlsChannel::State::kOpen);
  std::vector<uint8_t> unpadded = Message(22, 7);
  unpadded.resize(22);  // as an encoder that leaves the last padding out
  ASSERT_TRUE(client_.channel->Send(unpadded).ok());
  ASSERT_TRUE(client_.channel->Send(Message(18, 8)).ok());  // padded: 20 bytes
  ASSERT_TRUE(client_.channel->Send(Message(8, 9)).ok());
  Pump(client_, server_);
  EXPECT_EQ(server_.received,
            (std::vector<std::vector<uint8_t>>{Message(22, 7), Message(18, 8), Message(8, 9)}));
}

TEST_F(TlsChannelTest, RecordsSplitAtEveryByteStillMakeWholeMessages) {
  auto server = Context(Certificate(registrar_), TlsRole::kServer);
  auto client = Context(Certificate(element_), TlsRole::kClient);
  Connect(client.get(), server.get());
  ASSERT_EQ(server_.channel->state(), TlsChannel::State::kOpen);
  ASSERT_TRUE(client_.channel->Send(Message(301, 5)).ok());
  ASSERT_TRUE(client_.channel->Send(Message(7, 6)).ok());
  for (const auto& piece : client_.channel->TakeOutput()) {
    for (uint8_t byte : piece) {
      ASSERT_TRUE(server_.channel
                      ->Receive(absl::MakeConstSpan(&byte, 1),
                                [&](absl::Span<const uint8_t> m) {
                                  server_.received.emplace_back(m.begin(), m.end());
                                })
                      .ok());
    }
  }
  EXPECT_EQ(server_.received, (std::vector<std::vector<uint8_t>>{Message(301, 5), Message(7, 6)}));
}

TEST_F(TlsChannelTest, MessagesSentDuringTheHandshakeGoOutAfterIt) {
  auto server = Context(Certificate(registrar_), TlsRole::kServer);
  auto client = Context(Certificate(element_), TlsRole::kClient);
  client_.channel = std::make_unique<TlsChannel>(client.get());
  server_.channel = std::make_unique<TlsChannel>(server.get());
  ASSERT_TRUE(client_.channel->Send(Message(40, 7)).ok());
  Pump(client_, server_);
  EXPECT_EQ(server_.received, std::vector<std::vector<uint8_t>>{Message(40, 7)});
  // The queue is bounded.
  TlsChannel waiting(client.get());
  absl::Status status;
  for (size_t sent = 0; status.ok() && sent <= TlsChannel::kMaxPendingBytes; sent += 1000) {
    status = waiting.Send(Message(1000, 1));
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(TlsChannelTest, PreSharedKeysAuthenticateBothSides) {
  std::string psks = dir_ + "/psk.txt";
  testing::WritePskFile(psks, {"pe-7", "pr-2"});
  TlsOptions server_options;
  server_options.psk_file = psks;
  TlsOptions client_options;
  client_options.psk_file = psks;
  client_options.psk_identity = "pe-7";
  auto server = Context(server_options, TlsRole::kServer);
  auto client = Context(client_options, TlsRole::kClient);
  Connect(client.get(), server.get());
  ASSERT_TRUE(server_.status.ok()) << server_.status;
  ASSERT_EQ(server_.channel->state(), TlsChannel::State::kOpen);
  EXPECT_EQ(server_.channel->version(), "TLSv1.3");
  EXPECT_EQ(server_.channel->peer().kind, PeerIdentity::Kind::kPsk);
  EXPECT_EQ(server_.channel->peer().name, "pe-7");
  EXPECT_EQ(client_.channel->peer().kind, PeerIdentity::Kind::kPsk);
  EXPECT_EQ(client_.channel->peer().name, "");  // it proved our key, not a name
  ASSERT_TRUE(client_.channel->Send(Message(12, 1)).ok());
  Pump(client_, server_);
  EXPECT_EQ(server_.received.size(), 1u);
}

// A server with a certificate and PSKs: a client that names a PSK identity
// without its key, preferring a ciphersuite the PSK cannot serve, gets a
// certificate handshake, and must not pass for that identity.
TEST_F(TlsChannelTest, AClaimedPskIdentityWithoutItsKeyIsNoIdentity) {
  std::string psks = dir_ + "/mixed-psk.txt";
  std::string forged = dir_ + "/forged-psk.txt";
  testing::WritePskFile(psks, {"pe-7"});
  testing::WritePskFile(forged, {"pe-7"});  // another key
  TlsOptions server_options = Certificate(registrar_);
  server_options.psk_file = psks;
  server_options.require_peer_authentication = false;  // as ASAP, where PUs come anonymous
  auto server = Context(server_options, TlsRole::kServer);
  TlsOptions liar_options;
  liar_options.ca_file = ca_->certificate_file();
  liar_options.psk_file = forged;
  liar_options.psk_identity = "pe-7";
  auto liar = Context(liar_options, TlsRole::kClient);
  ASSERT_EQ(
      SSL_CTX_set_ciphersuites(liar->ssl_ctx(), "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"),
      1);
  Connect(liar.get(), server.get());
  EXPECT_FALSE(server_.channel->peer().authenticated()) << server_.channel->peer().name;
  // Even where the PSK cannot be used at all (a server held to a SHA-384
  // suite), the identity OpenSSL asked about is not taken for proven.
  auto sha384_server = Context(server_options, TlsRole::kServer);
  ASSERT_EQ(SSL_CTX_set_ciphersuites(sha384_server->ssl_ctx(), "TLS_AES_256_GCM_SHA384"), 1);
  client_ = Side();
  server_ = Side();
  Connect(liar.get(), sha384_server.get());
  ASSERT_EQ(server_.channel->state(), TlsChannel::State::kOpen) << server_.channel->error();
  EXPECT_FALSE(server_.channel->peer().authenticated()) << server_.channel->peer().name;

  // The key's holder, at the same server, is pe-7.
  TlsOptions holder_options = liar_options;
  holder_options.psk_file = psks;
  auto holder = Context(holder_options, TlsRole::kClient);
  client_ = Side();
  server_ = Side();
  Connect(holder.get(), server.get());
  ASSERT_EQ(server_.channel->state(), TlsChannel::State::kOpen) << server_.channel->error();
  EXPECT_EQ(server_.channel->peer().kind, PeerIdentity::Kind::kPsk);
  EXPECT_EQ(server_.channel->peer().name, "pe-7");
}

TEST_F(TlsChannelTest, AWrongOrUnknownPreSharedKeyIsRefused) {
  std::string server_psks = dir_ + "/server-psk.txt";
  std::string client_psks = dir_ + "/client-psk.txt";
  testing::WritePskFile(server_psks, {"pe-7"});
  testing::WritePskFile(client_psks, {"pe-7", "pe-8"});  // other keys
  TlsOptions server_options;
  server_options.psk_file = server_psks;
  auto server = Context(server_options, TlsRole::kServer);
  for (const char* identity : {"pe-7", "pe-8"}) {
    SCOPED_TRACE(identity);
    TlsOptions client_options;
    client_options.psk_file = client_psks;
    client_options.psk_identity = identity;
    auto client = Context(client_options, TlsRole::kClient);
    client_ = Side();
    server_ = Side();
    Connect(client.get(), server.get());
    EXPECT_EQ(server_.channel->state(), TlsChannel::State::kFailed);
    EXPECT_NE(client_.channel->state(), TlsChannel::State::kOpen);
    EXPECT_TRUE(server_.received.empty());
  }
}

TEST_F(TlsChannelTest, AClientRefusesAServerItsAuthoritiesDidNotSign) {
  TestAuthority::Issued forged = other_ca_->Issue("pr1.example");
  auto server = Context(Certificate(forged), TlsRole::kServer);
  TlsOptions client_options = Certificate(element_);
  auto client = Context(client_options, TlsRole::kClient);
  Connect(client.get(), server.get());
  EXPECT_EQ(client_.channel->state(), TlsChannel::State::kFailed);
  EXPECT_THAT(client_.channel->error(), HasSubstr("certificate"));
  EXPECT_NE(server_.channel->state(), TlsChannel::State::kOpen);
}

TEST_F(TlsChannelTest, AClientRefusesAServerWithAnotherName) {
  auto server = Context(Certificate(registrar_), TlsRole::kServer);
  TlsOptions client_options = Certificate(element_);
  client_options.expected_peer_name = "pr2.example";
  auto client = Context(client_options, TlsRole::kClient);
  Connect(client.get(), server.get());
  EXPECT_EQ(client_.channel->state(), TlsChannel::State::kFailed);
}

TEST_F(TlsChannelTest, ExpiredNotYetValidAndRevokedCertificatesAreRefused) {
  TestAuthority::Issued revoked = ca_->Issue("revoked.example");
  ca_->Revoke(revoked);
  TlsOptions server_options = Certificate(registrar_);
  server_options.crl_file = ca_->WriteCrl();
  auto server = Context(server_options, TlsRole::kServer);
  for (const TestAuthority::Issued& bad :
       {ca_->Issue("expired.example", TestAuthority::Validity::kExpired),
        ca_->Issue("future.example", TestAuthority::Validity::kNotYetValid), revoked}) {
    SCOPED_TRACE(bad.certificate_file);
    auto client = Context(Certificate(bad), TlsRole::kClient);
    client_ = Side();
    server_ = Side();
    Connect(client.get(), server.get());
    EXPECT_EQ(server_.channel->state(), TlsChannel::State::kFailed);
    EXPECT_THAT(server_.channel->error(), HasSubstr("certificate"));
  }
  // A good certificate passes the same CRL check.
  auto client = Context(Certificate(element_), TlsRole::kClient);
  client_ = Side();
  server_ = Side();
  Connect(client.get(), server.get());
  EXPECT_EQ(server_.channel->state(), TlsChannel::State::kOpen) << server_.channel->error();

  // And a client refuses an expired registrar.
  auto expired_server =
      Context(Certificate(ca_->Issue("old-pr.example", TestAuthority::Validity::kExpired)),
              TlsRole::kServer);
  client_ = Side();
  server_ = Side();
  Connect(client.get(), expired_server.get());
  EXPECT_EQ(client_.channel->state(), TlsChannel::State::kFailed);
}

TEST_F(TlsChannelTest, AServerThatRequiresAuthenticationRefusesAnonymousClients) {
  auto server = Context(Certificate(registrar_), TlsRole::kServer);
  TlsOptions anonymous;
  anonymous.ca_file = ca_->certificate_file();
  auto client = Context(anonymous, TlsRole::kClient);
  Connect(client.get(), server.get());
  EXPECT_EQ(server_.channel->state(), TlsChannel::State::kFailed);

  // Where PUs may connect, an anonymous client gets through, unauthenticated.
  TlsOptions open_options = Certificate(registrar_);
  open_options.require_peer_authentication = false;
  auto open_server = Context(open_options, TlsRole::kServer);
  client_ = Side();
  server_ = Side();
  Connect(client.get(), open_server.get());
  ASSERT_EQ(server_.channel->state(), TlsChannel::State::kOpen) << server_.channel->error();
  EXPECT_FALSE(server_.channel->peer().authenticated());
  EXPECT_EQ(client_.channel->peer().name, "pr1.example");
}

TEST_F(TlsChannelTest, PlaintextOnASecurePortIsRefused) {
  auto server = Context(Certificate(registrar_), TlsRole::kServer);
  TlsChannel channel(server.get());
  int delivered = 0;
  absl::Status status =
      channel.Receive(Message(24, 0), [&](absl::Span<const uint8_t>) { ++delivered; });
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(channel.state(), TlsChannel::State::kFailed);
  EXPECT_EQ(delivered, 0);
  // It stays failed.
  EXPECT_FALSE(channel.Send(Message(8, 0)).ok());
}

TEST_F(TlsChannelTest, ADowngradeToTls12IsRefusedAndTls12NeedsAead) {
  auto server = Context(Certificate(registrar_), TlsRole::kServer);
  TlsOptions old_options = Certificate(element_);
  old_options.min_version = "1.2";
  auto old_client = Context(old_options, TlsRole::kClient);
  SSL_CTX_set_max_proto_version(old_client->ssl_ctx(), TLS1_2_VERSION);
  Connect(old_client.get(), server.get());
  EXPECT_EQ(server_.channel->state(), TlsChannel::State::kFailed);

  // A server that allows 1.2 negotiates it with an AEAD suite.
  TlsOptions allowing = Certificate(registrar_);
  allowing.min_version = "1.2";
  auto server12 = Context(allowing, TlsRole::kServer);
  client_ = Side();
  server_ = Side();
  Connect(old_client.get(), server12.get());
  ASSERT_EQ(server_.channel->state(), TlsChannel::State::kOpen) << server_.channel->error();
  EXPECT_EQ(server_.channel->version(), "TLSv1.2");
  EXPECT_THAT(server_.channel->cipher(), ::testing::AnyOf(HasSubstr("GCM"), HasSubstr("CHACHA20")));
}

TEST_F(TlsChannelTest, TamperedAndReplayedRecordsAreRefused) {
  auto server = Context(Certificate(registrar_), TlsRole::kServer);
  auto client = Context(Certificate(element_), TlsRole::kClient);
  for (bool replay : {false, true}) {
    SCOPED_TRACE(replay ? "replayed" : "tampered");
    client_ = Side();
    server_ = Side();
    Connect(client.get(), server.get());
    ASSERT_EQ(server_.channel->state(), TlsChannel::State::kOpen);
    ASSERT_TRUE(client_.channel->Send(Message(64, 4)).ok());
    auto pieces = client_.channel->TakeOutput();
    ASSERT_EQ(pieces.size(), 1u);
    int delivered = 0;
    auto count = [&](absl::Span<const uint8_t>) { ++delivered; };
    if (replay) {
      ASSERT_TRUE(server_.channel->Receive(pieces[0], count).ok());
      EXPECT_FALSE(server_.channel->Receive(pieces[0], count).ok());
      EXPECT_EQ(delivered, 1);
    } else {
      pieces[0][pieces[0].size() - 3] ^= 0x40;
      EXPECT_FALSE(server_.channel->Receive(pieces[0], count).ok());
      EXPECT_EQ(delivered, 0);
    }
    EXPECT_EQ(server_.channel->state(), TlsChannel::State::kFailed);
  }
}

TEST_F(TlsChannelTest, APeerThatFramesALengthBelowTheHeaderFailsTheChannel) {
  auto server = Context(Certificate(registrar_), TlsRole::kServer);
  auto client = Context(Certificate(element_), TlsRole::kClient);
  Connect(client.get(), server.get());
  ASSERT_EQ(server_.channel->state(), TlsChannel::State::kOpen);
  // The library refuses to send it, or anything but one message...
  EXPECT_FALSE(client_.channel->Send({1, 0, 0, 2}).ok());
  EXPECT_FALSE(client_.channel->Send({1, 0, 0, 9, 0}).ok());
  EXPECT_FALSE(client_.channel->Send({1, 0, 0, 5, 0, 0, 0, 0, 0}).ok());
  // ...so a lying peer writes it with its own TLS.
  SSL* liar = SSL_new(client->ssl_ctx());
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in, -1);
  SSL_set_bio(liar, in, out);
  SSL_set_connect_state(liar);
  TlsChannel victim(server.get());
  auto carry = [](BIO* from) {
    std::vector<uint8_t> bytes(BIO_ctrl_pending(from));
    BIO_read(from, bytes.data(), static_cast<int>(bytes.size()));
    return bytes;
  };
  int delivered = 0;
  auto count = [&](absl::Span<const uint8_t>) { ++delivered; };
  while (SSL_do_handshake(liar) != 1) {
    ASSERT_TRUE(victim.Receive(carry(out), count).ok());
    for (auto& piece : victim.TakeOutput())
      BIO_write(in, piece.data(), static_cast<int>(piece.size()));
  }
  const uint8_t lie[] = {1, 0, 0, 2, 1, 0, 0, 8};
  ASSERT_EQ(SSL_write(liar, lie, sizeof lie), static_cast<int>(sizeof lie));
  absl::Status status = victim.Receive(carry(out), count);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("less than its header"));
  EXPECT_EQ(delivered, 0);
  SSL_free(liar);
}

TEST(TlsContextTest, BadFilesAndOptionsAreNamed) {
  std::string dir = std::getenv("TEST_TMPDIR");
  auto ca = *TestAuthority::Create(dir, "context CA");
  auto a = ca->Issue("a.example");
  auto b = ca->Issue("b.example");
  auto error = [](const TlsOptions& options, TlsRole role) {
    auto context = TlsContext::Create(options, role);
    return context.ok() ? std::string("ok") : std::string(context.status().message());
  };
  TlsOptions options;
  options.certificate_file = dir + "/missing.pem";
  options.private_key_file = a.key_file;
  EXPECT_THAT(error(options, TlsRole::kServer), HasSubstr("missing.pem"));
  options.certificate_file = a.certificate_file;
  options.private_key_file = b.key_file;
  EXPECT_THAT(error(options, TlsRole::kServer), HasSubstr("does not match"));
  options.private_key_file = "";
  EXPECT_THAT(error(options, TlsRole::kServer), HasSubstr("private key"));
  EXPECT_THAT(error(TlsOptions(), TlsRole::kServer), HasSubstr("needs a certificate"));
  EXPECT_THAT(error(TlsOptions(), TlsRole::kClient), HasSubstr("CA file"));
  TlsOptions version;
  version.ca_file = ca->certificate_file();
  version.min_version = "1.0";
  EXPECT_THAT(error(version, TlsRole::kClient), HasSubstr("allowed: 1.2, 1.3"));
  TlsOptions crl;
  crl.ca_file = ca->certificate_file();
  crl.crl_file = a.certificate_file;  // not a CRL
  EXPECT_THAT(error(crl, TlsRole::kClient), HasSubstr("no PEM CRL"));
  TlsOptions psk;
  psk.psk_file = dir + "/psk-a.txt";
  testing::WritePskFile(psk.psk_file, {"x"});
  psk.psk_identity = "y";
  EXPECT_THAT(error(psk, TlsRole::kClient), HasSubstr("\"y\" is not in"));
}

TEST(PskFileTest, ParsesKeysAndNamesTheBadLine) {
  auto keys = ParsePskFile(
      "# keys\n\npe-1 000102030405060708090a0b0c0d0e0f  # comment\n"
      "pr-1\t00112233445566778899AABBCCDDEEFF00\n",
      "psk.txt");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 2u);
  EXPECT_EQ(keys->at("pe-1").size(), 16u);
  EXPECT_EQ(keys->at("pr-1")[9], 0x99);
  auto error = [](const std::string& text) {
    auto parsed = ParsePskFile(text, "psk.txt");
    return parsed.ok() ? std::string("ok") : std::string(parsed.status().message());
  };
  EXPECT_EQ(error("a 000102030405060708090a0b0c0d0e0f\nb 0001\n"),
            "psk.txt:2: the key has 2 bytes; allowed: 16 to 512");
  EXPECT_EQ(error("a 000102030405060708090a0b0c0d0e0g\n"), "psk.txt:1: the key is not hexadecimal");
  EXPECT_EQ(error("a 000102030405060708090a0b0c0d0e0\n"), "psk.txt:1: the key is not hexadecimal");
  EXPECT_EQ(error("a\n"), "psk.txt:1: expected \"IDENTITY HEXKEY\"");
  EXPECT_EQ(error("a 000102030405060708090a0b0c0d0e0f\na 000102030405060708090a0b0c0d0e0f\n"),
            "psk.txt:2: identity a appears twice");
  EXPECT_THAT(error(std::string(200, 'i') + " 000102030405060708090a0b0c0d0e0f"),
              HasSubstr("identity longer than 128"));
}

}  // namespace
}  // namespace rspd::dataplane::tls
