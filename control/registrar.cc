#include "control/registrar.h"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/pool_element_codec.h"

namespace rspd::control {
namespace {

protocol::IpAddress IpOf(const dataplane::Endpoint& e) {
  if (e.address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&e.address);
    return protocol::IpAddress::V4(ntohl(v4->sin_addr.s_addr));
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&e.address);
  uint8_t bytes[16];
  memcpy(bytes, &v6->sin6_addr, 16);
  return protocol::IpAddress::V6(bytes);
}

// The loop wakes at least this often to drive SCTP and handlespace timers:
// usrsctp's timer granularity is 10 ms.
constexpr int kTickMillis = 10;
// A tick this late means the loop's thread did not run for that long (the
// machine or the loop overloaded): input may be waiting unread. Well above
// what a busy but healthy 2-core machine shows (tens of milliseconds).
constexpr uint64_t kLateTickMillis = 250;
// Datagrams read per turn at most: 32 bursts of 32. Reading is several
// times cheaper than processing, so a registrar that falls behind reads
// ahead of what it can process, finds the priority datagrams among them,
// and sheds normal ones itself instead of the kernel dropping at random.
constexpr int kReadBursts = 32;
// Normal datagrams processed per turn at most (priority ones are all
// processed): half the read budget, and no more than kNormalSliceMicros of
// work, so that the loop reads again (finding priority datagrams) and runs
// its timers every few milliseconds, whatever a normal datagram costs (an
// INIT costs a socket and a cookie: up to a millisecond).
constexpr size_t kNormalBudget = 512;
constexpr uint64_t kNormalSliceMicros = 5000;
// The clock is read once per this many normal datagrams.
constexpr size_t kClockEvery = 8;

}  // namespace

uint64_t Registrar::NowMillis() { return NowMicros() / 1000; }

uint64_t Registrar::NowMicros() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

Registrar::Registrar(const RegistrarConfig& config) : config_(config), ingress_({}) {}

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
  dataplane::UdpSocketOptions socket_options;
  socket_options.receive_buffer = config.udp_receive_buffer;
  absl::StatusOr<std::unique_ptr<dataplane::UdpSocketIo>> io = dataplane::UdpSocketIo::Open(
      config.bind_address, config.udp_encapsulation_port, socket_options);
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
  shard_options.max_pool_elements = config.max_pool_elements;
  shard_options.max_pools = config.max_pools;
  shard_options.max_pool_size = config.max_pes_per_pool;
  r->shards_ = std::make_unique<ShardExecutor>(shard_options);
  r->asap_ = std::make_unique<AsapServer>(
      config, r->shards_.get(),
      [self](const AssocRef& to, absl::Span<const uint8_t> message) {
        return self->bridge_->Send(static_cast<dataplane::SctpBridge::Peer*>(to.peer),
                                   self->config_.asap_port, to.assoc, protocol::kAsapPpid, message);
      },
      &r->overload_);
  dataplane::SctpBridge::Options options;
  options.listen_ports = {config.asap_port, config.enrp_port};
  options.max_peers = static_cast<size_t>(config.max_peers);
  options.max_associations = static_cast<size_t>(config.max_associations);
  options.max_inits_per_address_per_second =
      static_cast<uint32_t>(config.max_inits_per_address_per_second);
  options.max_inits_per_second = static_cast<uint32_t>(config.max_inits_per_second);
  options.peer_idle_timeout_ms =
      static_cast<uint32_t>(absl::ToInt64Milliseconds(config.sctp_peer_idle_timeout));
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
    // While shard lcores owe answers or datagrams wait, only look; otherwise
    // sleep until a packet or the next tick.
    const bool work = asap_->in_flight() != 0 || !ingress_.empty();
    poll(fds, announcer_ != nullptr ? 2 : 1, work ? 0 : kTickMillis);
    now_ = NowMillis();
    if (announcer_ != nullptr && (fds[1].revents & POLLIN)) announcer_->OnReadable(now_);
    Receive();
    Process();
    if (now_ - last >= kTickMillis) {
      if (now_ - last >= kLateTickMillis) overload_.Raise(OverloadMonitor::kLateTick, now_);
      bridge_->AdvanceTimers(static_cast<uint32_t>(now_ - last));
      last = now_;
      asap_->OnTimer(now_);
      asap_->CollectAnswers(now_);
      if (announcer_ != nullptr) announcer_->OnTimer(now_);
      io_->Flush();
    }
    if (stats_requested_.exchange(false, std::memory_order_relaxed)) {
      printf("statistics:\n%s", DescribeStats().c_str());
      fflush(stdout);
    }
  }
  shards_->Stop();
}

void Registrar::Receive() {
  shed_this_turn_ = false;
  bool drained = false;
  for (int bursts = 0; bursts < kReadBursts && !drained; ++bursts) {
    const size_t n =
        io_->ReceiveBurst([this](const dataplane::Endpoint& from,
                                 absl::Span<const uint8_t> datagram) { Admit(from, datagram); });
    drained = n < dataplane::UdpSocketIo::kBurst;
  }
  // Signs that the registrar itself is behind (docs/limits.md).
  if (!drained) overload_.Raise(OverloadMonitor::kBacklog, now_);
  if (shed_this_turn_) overload_.Raise(OverloadMonitor::kShed, now_);
  if (io_->ReadKernelDrops() != kernel_drops_seen_) {
    kernel_drops_seen_ = io_->stats().rx_kernel_drops;
    overload_.Raise(OverloadMonitor::kKernelDrops, now_);
  }
  const uint64_t busy = asap_->stats().shards_busy.load(std::memory_order_relaxed);
  if (busy != shards_busy_seen_) {
    shards_busy_seen_ = busy;
    overload_.Raise(OverloadMonitor::kShardsBusy, now_);
  }
}

void Registrar::Admit(const dataplane::Endpoint& from, absl::Span<const uint8_t> datagram) {
  // Remotes that hold registered PEs carry keep-alive ACKs and
  // re-registrations: when the registrar must choose, they come first.
  const dataplane::SctpBridge::Peer* peer = bridge_->Find(from);
  const auto c = peer != nullptr && asap_->HoldsPes(peer) ? dataplane::IngressQueue::kPriority
                                                          : dataplane::IngressQueue::kNormal;
  if (datagram.size() > dataplane::IngressQueue::kSlotBytes) {
    bridge_->Input(from, datagram);  // rare: larger than any request
    return;
  }
  if (!ingress_.Push(c, from, datagram)) {
    ++shed_[c];
    shed_this_turn_ = true;
  }
}

void Registrar::Process() {
  const auto input = [this](const dataplane::Endpoint& from, absl::Span<const uint8_t> datagram) {
    bridge_->Input(from, datagram);
  };
  ingress_.Drain(dataplane::IngressQueue::kPriority, SIZE_MAX, input);
  const uint64_t start = NowMicros();
  for (size_t done = 0; done < kNormalBudget && NowMicros() - start < kNormalSliceMicros;) {
    const size_t n = ingress_.Drain(dataplane::IngressQueue::kNormal, kClockEvery, input);
    if (n == 0) break;
    done += n;
  }
  asap_->CollectAnswers(now_);
  io_->Flush();
}

std::string Registrar::DescribeStats() const {
  size_t pools = 0, elements = 0;
  for (uint32_t k = 0; k < shards_->shard_count(); ++k) {
    pools += shards_->shard(k).table().pool_count();
    elements += shards_->shard(k).table().element_count();
  }
  const auto& io = io_->stats();
  std::string out =
      absl::StrCat("udp_rx_datagrams ", io.rx_datagrams, "\nudp_rx_truncated ", io.rx_truncated,
                   "\nudp_rx_kernel_drops ", io.rx_kernel_drops, "\nudp_tx_datagrams ",
                   io.tx_datagrams, "\nudp_tx_errors ", io.tx_errors, "\ningress_shed_priority ",
                   shed_[dataplane::IngressQueue::kPriority], "\ningress_shed_normal ",
                   shed_[dataplane::IngressQueue::kNormal], "\n");
  overload_.ForEach([&out](const char* name, const char*, uint64_t value) {
    absl::StrAppend(&out, name, " ", value, "\n");
  });
  bridge_->stats().ForEach([&out](const char* name, const char*, uint64_t value) {
    absl::StrAppend(&out, name, " ", value, "\n");
  });
  absl::StrAppend(&out, "sctp_peers ", bridge_->peer_count(), "\nsctp_associations ",
                  bridge_->association_count(), "\nhandlespace_pools ", pools,
                  "\nhandlespace_pool_elements ", elements, "\nannounces_sent ",
                  announcer_ ? announcer_->announces_sent() : 0, "\nannounces_heard ",
                  announcer_ ? announcer_->announces_heard() : 0, "\n");
  absl::StrAppend(&out, "asap_sessions ", asap_->session_count(), "\n");
  absl::StrAppend(&out, asap_->stats().Describe());
  // The shards' counters, summed (each shard's owner writes its own).
  std::vector<std::pair<std::string, uint64_t>> shard_totals;
  for (uint32_t k = 0; k < shards_->shard_count(); ++k) {
    size_t i = 0;
    shards_->shard(k).stats().ForEach([&](const char* name, const char*, uint64_t value) {
      if (k == 0) shard_totals.emplace_back(absl::StrCat("handlespace_", name), 0);
      shard_totals[i++].second += value;
    });
  }
  for (const auto& [name, value] : shard_totals) absl::StrAppend(&out, name, " ", value, "\n");
  return out;
}

}  // namespace rspd::control
