// File: control/registrar.cc

#include "control/registrar.h"

#include <cstdio>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "control/log/log.h"
#include "protocol/address.h"
#include "protocol/codec.h"
#include "protocol/wire.h"

namespace rspd::control {

Registrar::Registrar(const RegistrarConfig& config) : config_(config) {}

Registrar::~Registrar() {
  enrp_.reset();  // stops its thread while the loop, the shards and ASAP are there
  if (shards_ != nullptr) shards_->Stop();
  asap_.reset();
  loop_.reset();  // drains usrsctp's shutdowns through the packet I/O
}

absl::StatusOr<std::unique_ptr<Registrar>> Registrar::Create(const RegistrarConfig& config) {
  if (absl::Status status = config.Validate(); !status.ok()) {
    return status;
  }
  std::unique_ptr<Registrar> r(new Registrar(config));
  if (config.secure()) {
    if (absl::Status status = r->OpenSecurity(); !status.ok()) return status;
  }
  // First thread-wise: the EAL must be set up before any other thread starts.
  absl::StatusOr<std::unique_ptr<dataplane::PacketIo>> io = r->OpenPacketIo();
  if (!io.ok()) {
    return io.status();
  }
  absl::StatusOr<std::unique_ptr<ServerAnnouncer>> announcer =
      ServerAnnouncer::Create(config, &r->announce_status_);
  if (!announcer.ok()) {
    return announcer.status();
  }
  r->announcer_ = std::move(*announcer);
  if (r->announcer_ != nullptr) {
    r->announce_status_ = absl::StrCat(
        "to ", protocol::JoinHostPort(config.announce_group, config.announce_port), " every ",
        absl::FormatDuration(config.server_announce_cycle), " (RFC 5352 §3.6)");
  }
  // RFC 5355 §2.15: a secure registrar takes no plaintext ENRP, and the
  // multicast PRESENCE is plaintext (a forged one adds peers that never ACK
  // a takeover, or keeps a dead one alive): off. Peers are configured.
  absl::StatusOr<std::unique_ptr<MulticastChannel>> enrp_multicast =
      config.secure()
          ? nullptr
          : MulticastChannel::Open(config.enrp_multicast_group, config.enrp_multicast_port,
                                   config.bind_address, config.announce_ttl, "enrp_multicast_group",
                                   &r->enrp_multicast_status_);
  if (!enrp_multicast.ok()) return enrp_multicast.status();
  r->enrp_multicast_ = std::move(*enrp_multicast);
  if (config.secure()) {
    r->enrp_multicast_status_ = "off: plaintext, and this registrar is secure (docs/security.md)";
  } else if (r->enrp_multicast_ != nullptr) {
    r->enrp_multicast_status_ =
        protocol::JoinHostPort(config.enrp_multicast_group, config.enrp_multicast_port);
  }
  dataplane::IoLoop::Options loop_options;
  loop_options.max_idle_sleep_us = static_cast<uint32_t>(config.dpdk_idle_sleep_us);
  dataplane::SctpBridge::Options& sctp = loop_options.sctp;
  sctp.listen_ports = {config.asap_port, config.enrp_port};
  if (config.secure()) {
    // ENRP over TLS only (RFC 5352 §9.3: no updates from non-TLS registrars).
    r->config_.enrp_port = config.enrp_tls_port;
    sctp.listen_ports = {config.asap_port, config.asap_tls_port, config.enrp_tls_port,
                         config.enrp_tls_client_port};
    loop_options.tls = {
        {config.asap_tls_port, config.asap_port, 0, protocol::kAsapPpid, r->asap_tls_.get(),
         nullptr},
        {config.enrp_tls_port, config.enrp_tls_port, config.enrp_tls_client_port,
         protocol::kEnrpPpid, r->enrp_tls_server_.get(), r->enrp_tls_client_.get()},
    };
  }
  sctp.max_peers = static_cast<size_t>(config.max_peers);
  sctp.max_associations = static_cast<size_t>(config.max_associations);
  sctp.max_inits_per_address_per_second =
      static_cast<uint32_t>(config.max_inits_per_address_per_second);
  sctp.max_inits_per_second = static_cast<uint32_t>(config.max_inits_per_second);
  sctp.peer_idle_timeout_ms =
      static_cast<uint32_t>(absl::ToInt64Milliseconds(config.sctp_peer_idle_timeout));
  r->loop_ = std::make_unique<dataplane::IoLoop>(std::move(*io), loop_options);
  dataplane::ShardExecutor::Options shard_options;
  shard_options.lcores = config.shard_lcores;
  shard_options.seed = config.server_id;
  shard_options.max_pool_elements = config.max_pool_elements;
  shard_options.max_pools = config.max_pools;
  shard_options.max_pool_size = config.max_pes_per_pool;
  r->shards_ = std::make_unique<dataplane::ShardExecutor>(shard_options);
  r->asap_ = std::make_unique<AsapServer>(r->config_, r->shards_.get(), r->loop_.get(),
                                          &r->loop_->overload(), r->loop_.get());
  r->asap_->set_policy(r->policy_.get());
  r->enrp_ = std::make_unique<EnrpThread>(r->config_, r->shards_.get(), r->loop_.get(),
                                          r->loop_.get(), r->asap_.get());
  r->asap_->set_observer(r->enrp_.get());
  // ENRP's events (peers, downloads, takeovers): rare, one line each.
  r->enrp_->set_log([](Tick, const std::string& line) {
    static const log::Subsystem enrp_log = log::Get("enrp");
    RSPD_LOG(enrp_log, kInfo, line);
  });
  r->loop_->set_application(r.get());
  if (r->announcer_ != nullptr) r->loop_->Watch(r->announcer_->fd(), r.get());
  r->loop_->Watch(r->enrp_->wake_fd(), r.get());
  if (r->enrp_multicast_ != nullptr) {
    r->loop_->Watch(r->enrp_multicast_->fd(), r.get());
    MulticastChannel* channel = r->enrp_multicast_.get();
    r->enrp_->set_multicast(
        [channel](absl::Span<const uint8_t> presence) { channel->Send(presence); });
  }
  return r;
}

absl::Status Registrar::OpenSecurity() {
  // One identity (certificate or PSK) for every role; ASAP's server side
  // also takes clients without one (PUs, which may only resolve).
  dataplane::tls::TlsOptions options;
  options.certificate_file = config_.tls.certificate_file;
  options.private_key_file = config_.tls.private_key_file;
  options.ca_file = config_.tls.ca_file;
  options.crl_file = config_.tls.crl_file;
  options.psk_file = config_.tls.psk_file;
  options.min_version = config_.tls.min_version;
  options.require_peer_authentication = false;
  auto asap = dataplane::tls::TlsContext::Create(options, dataplane::tls::TlsRole::kServer);
  if (!asap.ok()) return asap.status();
  options.require_peer_authentication = true;
  auto enrp_server = dataplane::tls::TlsContext::Create(options, dataplane::tls::TlsRole::kServer);
  if (!enrp_server.ok()) return enrp_server.status();
  options.psk_identity = config_.tls.psk_identity;
  auto enrp_client = dataplane::tls::TlsContext::Create(options, dataplane::tls::TlsRole::kClient);
  if (!enrp_client.ok()) return enrp_client.status();
  asap_tls_ = std::move(*asap);
  enrp_tls_server_ = std::move(*enrp_server);
  enrp_tls_client_ = std::move(*enrp_client);
  if (config_.tls.policy_file.empty()) {
    policy_ = std::make_unique<SecurityPolicy>(SecurityPolicy::AllowAuthenticated());
  } else {
    absl::StatusOr<SecurityPolicy> policy = SecurityPolicy::Load(config_.tls.policy_file);
    if (!policy.ok()) return policy.status();
    policy_ = std::make_unique<SecurityPolicy>(std::move(*policy));
  }
  return absl::OkStatus();
}

std::string Registrar::DescribeSecurity() const {
  if (policy_ == nullptr) return "";
  return absl::StrFormat(
      "  sctp port %u  ASAP over TLS (RFC 5352 §9); plaintext port %u: resolution only\n"
      "  sctp port %u  ENRP over TLS (RFC 5353 §6), our calls from port %u\n"
      "  authorization: %s\n",
      config_.asap_tls_port, config_.asap_port, config_.enrp_tls_port, config_.enrp_tls_client_port,
      policy_->description());
}

void Registrar::ReloadPolicy() {
  if (policy_ == nullptr) return;
  if (config_.tls.policy_file.empty()) {
    RSPD_LOG(security_log_, kInfo, "no policy file to reload");
    return;
  }
  absl::StatusOr<SecurityPolicy> policy = SecurityPolicy::Load(config_.tls.policy_file);
  if (!policy.ok()) {
    RegistrarStats::Bump(stats_.policy_reload_failures);
    RSPD_LOG(security_log_, kError, "policy reload refused, the old policy stays")
        .Kv("reason", policy.status().message());
    return;
  }
  // Everything that reads the policy runs on this thread (the loop's).
  auto next = std::make_unique<SecurityPolicy>(std::move(*policy));
  asap_->set_policy(next.get());
  policy_ = std::move(next);
  RegistrarStats::Bump(stats_.policy_reloads);
  RSPD_LOG(security_log_, kInfo, "policy reloaded").Kv("policy", policy_->description());
}

void Registrar::RequestReconfigure(const RegistrarConfig& next) {
  {
    absl::MutexLock lock(&reconfigure_mu_);
    reconfigure_ = std::make_unique<RegistrarConfig>(next);
  }
  reconfigure_requested_.store(true, std::memory_order_release);
}

void Registrar::Reconfigure(const RegistrarConfig& next) {
  // The kRuntime and kAdditions rows of Settings() (config.cc); the rest
  // waits for a restart. The handlespace's caps go to each shard as its share, like
  // at the start (ShardExecutor::Options).
  asap_->UpdateLimits(next);
  TakeRuntimeSettings(next, &config_);
  const size_t shards = shards_->shard_count();
  for (uint32_t k = 0; k < shards; ++k) {
    auto* command = new handlespace::ManageCommand();
    command->op = handlespace::ManageCommand::Op::kSetLimits;
    command->max_pool_elements = dataplane::ShardExecutor::Share(next.max_pool_elements, shards);
    command->max_pools = dataplane::ShardExecutor::Share(next.max_pools, shards);
    command->max_pool_size = next.max_pes_per_pool;
    command->on_answer = [](handlespace::ManageCommand* answered) { delete answered; };
    shards_->Submit(k, command, /*must_run=*/true);
  }
  enrp_->AddStaticPeers(next.enrp_peers);
  ReloadPolicy();
  RegistrarStats::Bump(stats_.reconfigurations);
  // What changed is in the reload's own log line (tools/rspd_main.cc).
}

bool Registrar::BindServerId(absl::string_view identity, uint32_t id, Tick now) {
  const Tick silence = static_cast<Tick>(absl::ToInt64Milliseconds(config_.max_time_last_heard));
  auto owner = identity_of_.find(id);
  if (owner != identity_of_.end() && owner->second != identity) {
    // Another identity's, unless it has not spoken under it for
    // MAX-TIME-LAST-HEARD (then peers take that server for dead anyway).
    auto other = server_id_of_.find(owner->second);
    if (other != server_id_of_.end() && now - other->second.last_used < silence) return false;
    if (other != server_id_of_.end()) server_id_of_.erase(other);
    identity_of_.erase(owner);
  }
  auto bound = server_id_of_.find(identity);
  if (bound == server_id_of_.end()) {
    server_id_of_.emplace(std::string(identity), BoundId{id, now});
    identity_of_[id] = std::string(identity);
    return true;
  }
  if (bound->second.id != id) {
    if (now - bound->second.last_used <
        static_cast<Tick>(absl::ToInt64Milliseconds(config_.max_time_last_heard))) {
      return false;  // one identity, one live server
    }
    identity_of_.erase(bound->second.id);
    identity_of_[id] = std::string(identity);
    bound->second.id = id;
  }
  bound->second.last_used = now;
  return true;
}

bool Registrar::AuthorizeEnrp(const dataplane::InboundMessage& in, Tick now) {
  if (policy_ == nullptr) return true;
  const auto refuse = [this, &in](std::atomic<uint64_t>& counter) {
    RegistrarStats::Bump(counter);
    // A remote can send these at packet rate: rate-limited.
    static log::RateLimit limit(10, absl::Seconds(1));
    RSPD_LOG_LIMITED(security_log_, kWarning, limit, "ENRP message refused")
        .Kv("identity", in.peer_identity)
        .Kv("secure", in.secure)
        .Kv("address", in.remote_ip.ToString());
    return false;
  };
  if (!in.secure) return refuse(stats_.enrp_refused_unauthorized);
  // RFC 5353 §2: the Sending Server's ID follows the common header; 0 is an
  // operator's tool, which may only read (docs/decisions.md).
  const uint32_t sender = in.data.size() >= 8 ? protocol::Load32(in.data.data() + 4) : 0;
  if (sender == 0) {
    return policy_->MayMonitor(in.peer_identity) || refuse(stats_.enrp_refused_unauthorized);
  }
  const auto type = static_cast<protocol::EnrpType>(in.data.empty() ? 0 : in.data[0]);
  // A registrar we called with a PSK proved it holds our key, not who it is
  // (every registrar of the scope may): nothing from it on that association
  // counts. Honest peers send there nothing we need: their messages, answers
  // included, go on their own associations to us, where they name
  // themselves.
  if (in.peer_identity.empty()) return refuse(stats_.enrp_refused_unauthorized);
  if (!policy_->MayPeer(in.peer_identity)) return refuse(stats_.enrp_refused_unauthorized);
  // RFC 5355 §2.6: a takeover moves PEs to the registrar that claims them.
  if ((type == protocol::EnrpType::kInitTakeover || type == protocol::EnrpType::kTakeoverServer) &&
      !policy_->MayTakeOver(in.peer_identity)) {
    return refuse(stats_.enrp_refused_unauthorized);
  }
  // RFC 5355 §2.5: a peer speaks for itself only, under one server ID.
  if (!BindServerId(in.peer_identity, sender, now)) return refuse(stats_.enrp_refused_server_id);
  return true;
}

absl::StatusOr<std::unique_ptr<dataplane::PacketIo>> Registrar::OpenPacketIo() {
  if (config_.io == IoBackend::kSocket) {
    dataplane::UdpSocketOptions socket_options;
    socket_options.receive_buffer = config_.udp_receive_buffer;
    absl::StatusOr<std::unique_ptr<dataplane::UdpSocketIo>> io = dataplane::UdpSocketIo::Open(
        config_.bind_address, config_.udp_encapsulation_port, socket_options);
    if (!io.ok()) return io.status();
    udp_port_ = (*io)->port();
    udp_receive_buffer_ = (*io)->receive_buffer();
    io_description_ = absl::StrFormat(
        "  udp %s  SCTP over UDP (RFC 6951), receive buffer %d bytes\n",
        protocol::JoinHostPort(config_.bind_address, udp_port_), udp_receive_buffer_);
    return std::unique_ptr<dataplane::PacketIo>(std::move(*io));
  }
  // docs/dpdk.md: the ports' addresses and next hops come from the flags
  // (Validate checked their form).
  dataplane::DpdkOptions options;
  options.eal_args = config_.dpdk_eal_args;
  options.encapsulation_port = config_.udp_encapsulation_port;
  options.rx_queues = static_cast<uint16_t>(config_.dpdk_rx_queues);
  options.mbufs = static_cast<uint32_t>(config_.dpdk_mbufs);
  auto port = [&](int id) -> dataplane::DpdkOptions::Port& {
    if (options.ports.size() <= static_cast<size_t>(id)) options.ports.resize(id + 1);
    return options.ports[static_cast<size_t>(id)];
  };
  for (const std::string& text : config_.dpdk_addresses) {
    const DpdkAddress a = *ParseDpdkAddress(text);
    port(a.port).addresses.push_back({a.ip, a.prefix_length});
  }
  for (const std::string& text : config_.dpdk_gateways) {
    const DpdkAddress a = *ParseDpdkAddress(text);
    (a.ip.is_v4() ? port(a.port).ipv4_gateway : port(a.port).ipv6_gateway) = a.ip;
  }
  absl::StatusOr<std::unique_ptr<dataplane::DpdkPortIo>> io = dataplane::DpdkPortIo::Open(options);
  if (!io.ok()) return io.status();
  udp_port_ = config_.udp_encapsulation_port;
  io_description_ = absl::StrFormat(
      "  dpdk, SCTP over UDP port %u (RFC 6951) and native SCTP (IP protocol 132):\n%s", udp_port_,
      (*io)->Describe());
  return std::unique_ptr<dataplane::PacketIo>(std::move(*io));
}

void Registrar::Run() {
  loop_->Run();
  enrp_->Stop();  // its last shard commands answered before the shards stop
  shards_->Stop();
}

void Registrar::OnMessage(const dataplane::InboundMessage& in, Tick now) {
  protocol::Message message;
  protocol::DecodeError error;
  // RFC 5353 §5: ENRP uses PPID 12 on the ENRP port.
  if (in.local_port == config_.enrp_port && in.ppid == protocol::kEnrpPpid) {
    if (!AuthorizeEnrp(in, now)) return;  // counted
    enrp_->OnMessage(in);                 // decoded on the ENRP thread
    return;
  }
  // RFC 5352 §5: ASAP uses PPID 11 on the ASAP port; anything else is
  // dropped, and counted.
  if (in.local_port != config_.asap_port || in.ppid != protocol::kAsapPpid) {
    RegistrarStats::Bump(stats_.messages_not_asap);
    return;
  }
  if (!enrp_->ready()) {
    RegistrarStats::Bump(stats_.asap_before_ready);
    return;
  }
  if (!protocol::DecodeMessage(protocol::Protocol::kAsap, in.data, &message, &error)) {
    asap_->OnUndecodable(in, error);
    return;
  }
  asap_->OnMessage(in, message, now);
  // Inline shards answered already: replying while usrsctp is still
  // processing the packet bundles the reply with the SACK it owes (one
  // datagram instead of two).
  if (!shards_->threaded()) CollectAnswers(now);
}

void Registrar::CollectAnswers(Tick now) { CollectShardAnswers(*shards_, *asap_, *enrp_, now); }

void Registrar::OnAssociationDown(const dataplane::AssocRef& assoc, uint16_t local_port, Tick now) {
  if (local_port == config_.asap_port) asap_->OnAssociationDown(assoc, now);
}

void Registrar::OnInputDone(Tick now) {
  // Every turn ends here (after the input, and after the tick): the one
  // place the ENRP thread's outbox runs (its eventfd only wakes the loop).
  enrp_->RunOutbox(now);
  CollectAnswers(now);
  enrp_->Flush(now);  // what arrived for ENRP this turn goes to its thread
  // A full shard ring is a sign of overload too (docs/limits.md).
  const uint64_t busy = asap_->stats().shards_busy.load(std::memory_order_relaxed);
  if (busy != shards_busy_seen_) {
    shards_busy_seen_ = busy;
    loop_->overload().Raise(dataplane::OverloadMonitor::kShardsBusy, now);
  }
}

void Registrar::OnReadable(Tick now) {
  if (announcer_ != nullptr) announcer_->OnReadable(now);
  if (enrp_multicast_ == nullptr) return;
  uint8_t buffer[2048];
  // Bounded per call: a flood of datagrams cannot hold the loop.
  for (int i = 0; i < 64; ++i) {
    protocol::IpAddress from;
    const size_t n = enrp_multicast_->Receive(absl::MakeSpan(buffer), &from);
    if (n == 0) break;
    enrp_->OnMulticast(from, absl::MakeConstSpan(buffer, n));
  }
}

void Registrar::OnTick(Tick now) {
  if (!enrp_started_) {
    enrp_started_ = true;
    enrp_->Start(udp_port_, now);
  }
  if (reconfigure_requested_.exchange(false, std::memory_order_acquire)) {
    std::unique_ptr<RegistrarConfig> next;
    {
      absl::MutexLock lock(&reconfigure_mu_);
      next = std::move(reconfigure_);
    }
    if (next != nullptr) Reconfigure(*next);
  }
  ServeManagement(now);
  SampleRates(now);
  asap_->OnTimer(now);
  if (!shards_->threaded()) CollectAnswers(now);
  if (announcer_ != nullptr) announcer_->OnTimer(now);
  if (stats_requested_.exchange(false, std::memory_order_relaxed)) {
    // The peer table is the ENRP thread's: the block is printed whole once
    // its copy is back.
    enrp_->ListPeers([this](const std::vector<EnrpThread::PeerInfo>& peers) {
      std::string text;
      for (const EnrpThread::PeerInfo& p : peers) {
        absl::StrAppendFormat(&text, "  peer 0x%08x %s %s owned=%u checksum=0x%04x\n", p.id,
                              p.address, p.state, p.owned, p.checksum);
      }
      printf("statistics:\n%speers:\n%s", DescribeStats().c_str(), text.c_str());
      fflush(stdout);
    });
  }
}

void Registrar::ForEachCounter(CounterFn fn) const {
  loop_->ForEachCounter(fn);
  log::Default().stats().ForEach(fn);
  shards_->stats().ForEach(fn);
  fn("shard_commands_in_flight", "handlespace commands submitted and not answered yet (gauge)",
     shards_->in_flight());
  if (announcer_ != nullptr) {
    announcer_->stats().ForEach(fn);
  } else {
    AnnouncerStats().ForEach(fn);  // announces off: zeros, so that every name is there
  }
  stats_.ForEach(fn);
  fn("asap_sessions", "PEs registered over an association of ours (gauge)", asap_->session_count());
  asap_->stats().ForEach(fn);
  fn("enrp_ready", "ENRP's initial download is complete: ASAP is served (gauge)",
     enrp_->ready() ? 1 : 0);
  fn("enrp_peers", "servers in the peer table (gauge)", enrp_->peer_count());
  fn("enrp_messages_shed", "ENRP messages the I/O thread shed: the ENRP thread was behind",
     enrp_->messages_shed());
  enrp_->stats().ForEach(fn);
  // The shards' counters, summed (each shard's owner writes its own).
  std::vector<std::tuple<std::string, const char*, uint64_t>> shard_totals;
  for (uint32_t k = 0; k < shards_->shard_count(); ++k) {
    size_t i = 0;
    shards_->shard(k).stats().ForEach([&](const char* name, const char* help, uint64_t value) {
      if (k == 0) shard_totals.emplace_back(absl::StrCat("handlespace_", name), help, 0);
      std::get<2>(shard_totals[i++]) += value;
    });
  }
  for (const auto& [name, help, value] : shard_totals) fn(name.c_str(), help, value);
}

std::string Registrar::DescribeStats() const {
  std::string out;
  ForEachCounter([&out](const char* name, const char*, uint64_t value) {
    absl::StrAppend(&out, name, " ", value, "\n");
  });
  size_t pools = 0, elements = 0;
  for (uint32_t k = 0; k < shards_->shard_count(); ++k) {
    pools += shards_->shard(k).table().pool_count();
    elements += shards_->shard(k).table().element_count();
  }
  absl::StrAppend(&out, "handlespace_pools ", pools, "\n");
  absl::StrAppend(&out, "handlespace_pool_elements ", elements, "\n");
  return out;
}

}  // namespace rspd::control
