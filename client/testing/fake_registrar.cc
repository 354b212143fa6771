#include "client/testing/fake_registrar.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace rspd::client::testing {

using protocol::AsapType;
using protocol::Message;

absl::StatusOr<std::unique_ptr<FakeRegistrar>> FakeRegistrar::Start() {
  std::unique_ptr<FakeRegistrar> fake(new FakeRegistrar());
  FakeRegistrar* self = fake.get();
  auto server = SctpServer::Listen(
      0,
      [self](uint32_t assoc, uint32_t ppid, absl::Span<const uint8_t> data) {
        self->OnMessage(assoc, ppid, data);
      },
      [self](uint32_t assoc, bool up) {
        std::lock_guard<std::mutex> lock(self->mu_);
        if (up) {
          self->up_.insert(assoc);
        } else {
          self->up_.erase(assoc);
        }
        self->cv_.notify_all();
      });
  if (!server.ok()) return server.status();
  fake->server_ = std::move(*server);
  return fake;
}

RegistrarAddress FakeRegistrar::address() const {
  RegistrarAddress r;
  r.host = "127.0.0.1";
  r.udp_port = SctpUdpPort();
  r.sctp_port = server_->port();
  return r;
}

void FakeRegistrar::OnMessage(uint32_t assoc, uint32_t ppid, absl::Span<const uint8_t> data) {
  Message m;
  protocol::DecodeError error;
  if (ppid != protocol::kAsapPpid ||
      !protocol::DecodeMessage(protocol::Protocol::kAsap, data, &m, &error)) {
    return;
  }
  // RFC 5352 §3.1, §3.2: every request is granted, but for the
  // registrations a test asked to be answered as busy.
  const bool registration = m.type == static_cast<uint8_t>(AsapType::kRegistration);
  const bool deregistration = m.type == static_cast<uint8_t>(AsapType::kDeregistration);
  bool busy = false;
  bool ignore = false;
  bool reject = false;
  std::optional<std::pair<std::string, uint32_t>> notice;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (registration) {
      ignore = ignored_registrations_ > 0;
      if (ignore) --ignored_registrations_;
      busy = !ignore && busy_registrations_ > 0;
      if (busy) --busy_registrations_;
      reject = rejected_pe_id_ == m.pool_element.pe_id;
    }
    if ((registration || deregistration) && !ignore) notice.swap(notice_before_answer_);
  }
  if (notice.has_value()) (void)SendRemovalNotice(assoc, notice->first, notice->second);
  if ((registration && !ignore) || deregistration) {
    Message reply;
    protocol::ErrorCause cause{
        busy ? protocol::Cause::kLackOfResources : protocol::Cause::kInconsistentPoolingPolicy, {}};
    if (busy || reject) {
      reply.flags = protocol::kFlagRegistrationReject;
      reply.has_error = true;
      reply.error_causes =
          protocol::ParamList<protocol::ErrorCause>(absl::MakeConstSpan(&cause, 1));
    }
    reply.type = static_cast<uint8_t>(registration ? AsapType::kRegistrationResponse
                                                   : AsapType::kDeregistrationResponse);
    reply.has_pool_handle = true;
    reply.pool_handle = m.pool_handle;
    reply.has_pe_id = true;
    reply.pe_id = registration ? m.pool_element.pe_id : m.pe_id;
    (void)server_->Send(assoc, protocol::kAsapPpid, protocol::EncodeMessageToVector(reply));
  }
  Received r;
  r.assoc = assoc;
  r.pe_id = registration ? m.pool_element.pe_id : m.pe_id;
  r.remote_port = server_->RemotePort(assoc).value_or(0);
  std::lock_guard<std::mutex> lock(mu_);
  received_.emplace_back(m.type, r);
  cv_.notify_all();
}

absl::StatusOr<uint32_t> FakeRegistrar::ConnectTo(uint16_t sctp_port, uint16_t udp_port,
                                                  absl::Duration timeout) {
  absl::StatusOr<uint32_t> assoc = server_->Connect("127.0.0.1", sctp_port, udp_port);
  if (!assoc.ok()) return assoc.status();
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                    [&] { return up_.count(*assoc) > 0; })) {
    return absl::UnavailableError(absl::StrCat("no association to SCTP port ", sctp_port));
  }
  return assoc;
}

absl::Status FakeRegistrar::SendKeepAlive(uint32_t assoc, const std::string& pool,
                                          std::optional<uint32_t> pe_id, bool home,
                                          uint32_t server_id) {
  Message m;
  m.type = static_cast<uint8_t>(AsapType::kEndpointKeepAlive);
  m.flags = home ? protocol::kFlagHome : 0;
  m.server_id = server_id;
  m.has_pool_handle = true;
  m.pool_handle = pool;
  m.has_pe_id = pe_id.has_value();
  m.pe_id = pe_id.value_or(0);
  return server_->Send(assoc, protocol::kAsapPpid, protocol::EncodeMessageToVector(m));
}

absl::Status FakeRegistrar::SendRemovalNotice(uint32_t assoc, const std::string& pool,
                                              uint32_t pe_id) {
  Message m;
  m.type = static_cast<uint8_t>(AsapType::kDeregistrationResponse);
  m.has_pool_handle = true;
  m.pool_handle = pool;
  m.has_pe_id = true;
  m.pe_id = pe_id;
  return server_->Send(assoc, protocol::kAsapPpid, protocol::EncodeMessageToVector(m));
}

size_t FakeRegistrar::Count(AsapType type) {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(std::count_if(received_.begin(), received_.end(), [&](const auto& r) {
    return r.first == static_cast<uint8_t>(type);
  }));
}

absl::StatusOr<uint32_t> FakeRegistrar::Await(AsapType type, absl::Duration timeout) {
  absl::StatusOr<Received> r = AwaitMessage(type, timeout);
  if (!r.ok()) return r.status();
  return r->assoc;
}

absl::StatusOr<FakeRegistrar::Received> FakeRegistrar::AwaitMessage(AsapType type,
                                                                    absl::Duration timeout) {
  const uint8_t wanted = static_cast<uint8_t>(type);
  std::unique_lock<std::mutex> lock(mu_);
  auto found = received_.end();
  cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] {
    found = std::find_if(received_.begin(), received_.end(),
                         [&](const auto& r) { return r.first == wanted; });
    return found != received_.end();
  });
  if (found == received_.end()) {
    return absl::DeadlineExceededError(
        absl::StrCat("no ", protocol::MessageTypeName(protocol::Protocol::kAsap, wanted),
                     " within ", absl::FormatDuration(timeout)));
  }
  const Received r = found->second;
  received_.erase(found);
  return r;
}

}  // namespace rspd::client::testing
