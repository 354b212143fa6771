#include "control/registrar.h"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "control/pe_convert.h"

namespace rspd::control {
namespace {

handlespace::IpAddress IpOf(const dataplane::Endpoint& e) {
  if (e.address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&e.address);
    return handlespace::IpAddress::V4(ntohl(v4->sin_addr.s_addr));
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&e.address);
  uint8_t bytes[16];
  memcpy(bytes, &v6->sin6_addr, 16);
  return handlespace::IpAddress::V6(bytes);
}

// The loop wakes at least this often to drive SCTP and handlespace timers:
// usrsctp's timer granularity is 10 ms.
constexpr int kTickMillis = 10;

}  // namespace

uint64_t Registrar::NowMillis() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

Registrar::Registrar(const RegistrarConfig& config) : config_(config) {}

Registrar::~Registrar() {
  if (shards_ != nullptr) shards_->Stop();
  asap_.reset();
  bridge_.reset();  // drains usrsctp's shutdowns through io_
  io_.reset();
}

absl::StatusOr<std::unique_ptr<Registrar>> Registrar::Create(const RegistrarConfig& config) {
  if (absl::Status status = config.Validate(); !status.ok()) {
    return status;
  }
  std::unique_ptr<Registrar> r(new Registrar(config));
  absl::StatusOr<std::unique_ptr<dataplane::UdpSocketIo>> io =
      dataplane::UdpSocketIo::Open(config.bind_address, config.udp_encapsulation_port);
  if (!io.ok()) {
    return io.status();
  }
  r->io_ = std::move(*io);
  absl::StatusOr<std::unique_ptr<ServerAnnouncer>> announcer =
      ServerAnnouncer::Create(config, &r->announce_status_);
  if (!announcer.ok()) {
    return announcer.status();
  }
  r->announcer_ = std::move(*announcer);
  if (r->announcer_ != nullptr) {
    // An IPv6 group in brackets, so that its port reads apart: [ff05::133]:3863.
    const bool v6_group = config.announce_group.find(':') != std::string::npos;
    r->announce_status_ =
        absl::StrCat("to ", v6_group ? "[" : "", config.announce_group, v6_group ? "]" : "", ":",
                     config.announce_port, " every ",
                     absl::FormatDuration(config.server_announce_cycle), " (RFC 5352 §3.6)");
  }
  Registrar* self = r.get();
  ShardExecutor::Options shard_options;
  shard_options.lcores = config.shard_lcores;
  shard_options.seed = config.server_id;
  r->shards_ = std::make_unique<ShardExecutor>(shard_options);
  r->asap_ = std::make_unique<AsapServer>(
      config, r->shards_.get(), [self](const AssocRef& to, absl::Span<const uint8_t> message) {
        return self->bridge_->Send(static_cast<dataplane::SctpBridge::Peer*>(to.peer),
                                   self->config_.asap_port, to.assoc, protocol::kAsapPpid, message);
      });
  dataplane::SctpBridge::Options options;
  options.listen_ports = {config.asap_port, config.enrp_port};
  r->bridge_ = std::make_unique<dataplane::SctpBridge>(
      options,
      [self](const dataplane::Endpoint& to, absl::Span<const uint8_t> packet) {
        return self->io_->Send(to, packet);
      },
      [self](const dataplane::SctpBridge::Delivery& d) {
        // RFC 5352 §5: ASAP uses PPID 11 on the ASAP port; ENRP (PPID 12)
        // is not served yet and is dropped by the bridge's caller.
        if (d.local_port == self->config_.asap_port && d.ppid == protocol::kAsapPpid) {
          self->asap_->OnMessage({d.peer, d.assoc}, IpOf(self->bridge_->endpoint(d.peer)),
                                 d.remote_port, d.data, self->now_);
          // Inline shards answered already: replying while usrsctp is still
          // processing the packet bundles the reply with the SACK it owes
          // (one datagram instead of two).
          if (!self->shards_->threaded()) self->asap_->CollectAnswers(self->now_);
        }
      },
      [self](dataplane::SctpBridge::Peer* peer, uint16_t port, uint32_t assoc,
             dataplane::SctpBridge::AssocEvent event) {
        if (port == self->config_.asap_port && event == dataplane::SctpBridge::AssocEvent::kDown) {
          self->asap_->OnAssociationDown({peer, assoc}, self->now_);
        }
      });
  return r;
}

void Registrar::Run() {
  uint64_t last = NowMillis();
  now_ = last;
  pollfd fds[2] = {{io_->fd(), POLLIN, 0},
                   {announcer_ != nullptr ? announcer_->fd() : -1, POLLIN, 0}};
  while (!stop_.load(std::memory_order_relaxed)) {
    // While shard lcores owe answers, only look; otherwise sleep until a
    // packet or the next tick.
    poll(fds, announcer_ != nullptr ? 2 : 1, asap_->in_flight() != 0 ? 0 : kTickMillis);
    now_ = NowMillis();
    if (announcer_ != nullptr && (fds[1].revents & POLLIN)) announcer_->OnReadable(now_);
    // Drain what arrived, burst by burst (bounded so that timers still run).
    for (int bursts = 0; bursts < 64; ++bursts) {
      size_t n = io_->ReceiveBurst(
          [this](const dataplane::Endpoint& from, absl::Span<const uint8_t> packet) {
            bridge_->Input(from, packet);
          });
      asap_->CollectAnswers(now_);
      io_->Flush();
      if (n < dataplane::UdpSocketIo::kBurst) break;
    }
    if (now_ - last >= kTickMillis) {
      bridge_->AdvanceTimers(static_cast<uint32_t>(now_ - last));
      last = now_;
      asap_->OnTimer(now_);
      asap_->CollectAnswers(now_);
      if (announcer_ != nullptr) announcer_->OnTimer(now_);
      io_->Flush();
    }
  }
  shards_->Stop();
}

std::string Registrar::DescribeStats() const {
  size_t pools = 0, elements = 0;
  for (uint32_t k = 0; k < shards_->shard_count(); ++k) {
    pools += shards_->shard(k).table().pool_count();
    elements += shards_->shard(k).table().element_count();
  }
  const auto& b = bridge_->stats();
  const auto& io = io_->stats();
  std::string out =
      absl::StrCat("udp_rx_datagrams ", io.rx_datagrams, "\nudp_rx_truncated ", io.rx_truncated,
                   "\nudp_tx_datagrams ", io.tx_datagrams, "\nudp_tx_errors ", io.tx_errors,
                   "\nsctp_packets_in ", b.packets_in, "\nsctp_packets_out ", b.packets_out,
                   "\nsctp_messages_in ", b.messages_in, "\nsctp_messages_out ", b.messages_out,
                   "\nsctp_send_failures ", b.send_failures, "\nsctp_peers ", bridge_->peer_count(),
                   "\nsctp_peers_rejected ", b.peers_rejected, "\nhandlespace_pools ", pools,
                   "\nhandlespace_pool_elements ", elements, "\nannounces_sent ",
                   announcer_ ? announcer_->announces_sent() : 0, "\nannounces_heard ",
                   announcer_ ? announcer_->announces_heard() : 0, "\n");
  absl::StrAppend(&out, asap_->stats().Describe());
  return out;
}

}  // namespace rspd::control
