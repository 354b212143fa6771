// File: dataplane/io_loop.cc

#include "dataplane/io_loop.h"

#include <poll.h>
#include <time.h>

#include <algorithm>

namespace rspd::dataplane {
namespace {

// A tick this late means the loop's thread did not run for that long (the
// machine or the loop overloaded): input may be waiting unread. Well above
// what a busy but healthy 2-core machine shows (tens of milliseconds).
constexpr IoLoop::Tick kLateTickMillis = 250;
// Datagrams read per turn at most: 32 bursts of 32. Reading is several
// times cheaper than processing, so a loop that falls behind reads ahead of
// what it can process, finds the priority datagrams among them, and sheds
// normal ones itself instead of the kernel dropping at random.
constexpr int kReadBursts = 32;
// Normal datagrams processed per turn at most (priority ones are all
// processed): half the read budget, and no more than kNormalSliceMicros of
// work, so that the loop reads again (finding priority datagrams) and runs
// its timers every few milliseconds, whatever a normal datagram costs (an
// INIT costs a socket and a cookie: up to a millisecond).
constexpr size_t kNormalBudget = 512;
constexpr IoLoop::Tick kNormalSliceMicros = 5000;
// The clock is read once per this many normal datagrams.
constexpr size_t kClockEvery = 8;

}  // namespace

IoLoop::IoLoop(std::unique_ptr<PacketIo> io, const Options& options)
    : io_(std::move(io)), ingress_(options.ingress), max_idle_sleep_us_(options.max_idle_sleep_us) {
  SctpBridge::Handler* handler = this;  // a private base: converted here
  bridge_ = std::make_unique<SctpBridge>(options.sctp, handler);
  if (!options.tls.empty()) {
    TlsAssociations::Upcalls* upcalls = this;
    tls_ = std::make_unique<TlsAssociations>(options.tls, bridge_.get(), upcalls);
  }
}

IoLoop::~IoLoop() {
  tls_.reset();
  bridge_.reset();  // drains usrsctp's shutdowns through io_
  io_.reset();
}

IoLoop::Tick IoLoop::NowMicros() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Tick>(ts.tv_sec) * 1000000 + static_cast<Tick>(ts.tv_nsec) / 1000;
}

void IoLoop::Watch(int fd, Watcher* watcher) { watched_.emplace_back(fd, watcher); }

void IoLoop::Run() {
  now_ = NowMicros() / 1000;
  Tick last = now_;
  std::vector<pollfd> fds;
  // poll(2) skips a negative descriptor: a polled backend's slot is inert.
  const bool polled = io_->wait_fd() < 0;
  fds.push_back({io_->wait_fd(), POLLIN, 0});
  for (const auto& [fd, watcher] : watched_) fds.push_back({fd, POLLIN, 0});
  uint32_t idle_turns = 0;
  uint32_t sleep_us = 0;
  uint64_t turn = 0;
  Tick looked_at = now_;
  while (!stop_.load(std::memory_order_relaxed)) {
    // While the application owes answers or datagrams wait, only look;
    // otherwise sleep until a packet or the next tick.
    const bool work = application_->Busy() || !ingress_.empty();
    bool looked = true;
    if (!polled) {
      poll(fds.data(), fds.size(), work ? 0 : static_cast<int>(kTickMillis));
    } else if (work || idle_turns < kSpinTurns || max_idle_sleep_us_ == 0) {
      // Spinning: the watched descriptors every kWatchEvery turns, and at
      // least every millisecond however long the turns take.
      sleep_us = 0;
      looked = ++turn % kWatchEvery == 0 || now_ != looked_at;
      if (looked) poll(fds.data(), fds.size(), 0);
    } else {
      // Idle: sleep a little longer each time (never past a tick), waking
      // for watched descriptors.
      sleep_us = std::min(std::max(sleep_us * 2, kMinIdleSleepMicros), max_idle_sleep_us_);
      const timespec pause = {0, static_cast<long>(sleep_us) * 1000};
      ppoll(fds.data(), fds.size(), &pause, nullptr);
      IoLoopStats::Bump(stats_.idle_sleeps);
    }
    now_ = NowMicros() / 1000;
    if (looked) looked_at = now_;
    for (size_t i = 1; looked && i < fds.size(); ++i) {
      if (fds[i].revents & POLLIN) watched_[i - 1].second->OnReadable(now_);
    }
    Receive();
    idle_turns = received_this_turn_ ? 0 : idle_turns + 1;
    Process();
    application_->OnInputDone(now_);
    if (tls_ != nullptr) tls_->Tick(now_);
    io_->Flush();
    if (now_ - last >= kTickMillis) {
      if (now_ - last >= kLateTickMillis) overload_.Raise(OverloadMonitor::kLateTick, now_);
      bridge_->AdvanceTimers(static_cast<uint32_t>(now_ - last));
      last = now_;
      application_->OnTick(now_);
      application_->OnInputDone(now_);
      io_->Flush();
    }
  }
}

void IoLoop::Receive() {
  shed_this_turn_ = false;
  received_this_turn_ = false;
  bool drained = false;
  for (int bursts = 0; bursts < kReadBursts && !drained; ++bursts) {
    const absl::Span<const Datagram> burst = io_->ReceiveBurst();
    received_this_turn_ |= !burst.empty();
    for (const Datagram& d : burst) Admit(d);
    drained = burst.size() < PacketIo::kBurst;
  }
  // Signs that the loop itself is behind (docs/limits.md).
  if (!drained) overload_.Raise(OverloadMonitor::kBacklog, now_);
  if (shed_this_turn_) overload_.Raise(OverloadMonitor::kShed, now_);
  const uint64_t drops = io_->ReadDrops();
  if (drops != drops_seen_) {
    drops_seen_ = drops;
    overload_.Raise(OverloadMonitor::kKernelDrops, now_);
  }
}

void IoLoop::Admit(const Datagram& d) {
  // Remotes the application marks (holders of registered PEs: keep-alive
  // ACKs, re-registrations) come first when the loop must choose.
  const SctpBridge::Peer* peer = bridge_->Find(d.from);
  const auto priority = [this](const void* p) { return application_->IsPriority(p); };
  const bool first =
      peer != nullptr && (priority(peer) || (tls_ != nullptr && tls_->AnyOf(peer, priority)));
  const auto c = first ? IngressQueue::kPriority : IngressQueue::kNormal;
  if (d.data.size() > IngressQueue::kSlotBytes) {
    bridge_->Input(d.from, d.data);  // rare: larger than any request
    return;
  }
  if (!ingress_.Push(c, d.from, d.data)) {
    IoLoopStats::Bump(c == IngressQueue::kPriority ? stats_.ingress_shed_priority
                                                   : stats_.ingress_shed_normal);
    shed_this_turn_ = true;
  }
}

void IoLoop::Process() {
  const auto input = [this](const Endpoint& from, absl::Span<const uint8_t> datagram) {
    bridge_->Input(from, datagram);
  };
  ingress_.Drain(IngressQueue::kPriority, SIZE_MAX, input);
  // The slice starts here, after the input and the priority datagrams
  // (however long they took): every turn serves some normal ones.
  const Tick start = NowMicros();
  for (size_t done = 0; done < kNormalBudget && NowMicros() - start < kNormalSliceMicros;) {
    const size_t n = ingress_.Drain(IngressQueue::kNormal, kClockEvery, input);
    if (n == 0) break;
    done += n;
  }
}

bool IoLoop::Send(const AssocRef& to, uint16_t local_port, uint32_t ppid,
                  absl::Span<const uint8_t> message) {
  if (tls_ != nullptr && tls_->Owns(to)) return tls_->Send(to, message);
  // The bridge checks that the peer is still one of its own.
  return bridge_->Send(static_cast<SctpBridge::Peer*>(const_cast<void*>(to.peer)), local_port,
                       to.assoc, ppid, message);
}

int IoLoop::Output(const Endpoint& to, absl::Span<const uint8_t> packet) {
  return io_->Send(to, packet);
}

void IoLoop::Deliver(const SctpBridge::Delivery& d) {
  if (tls_ != nullptr && tls_->IsSecurePort(d.local_port)) {
    tls_->OnDeliver(d);
    return;
  }
  InboundMessage m;
  m.from = {d.peer, d.assoc};
  m.local_port = d.local_port;
  m.remote_port = d.remote_port;
  const Endpoint& remote = bridge_->endpoint(d.peer);
  m.remote_ip = remote.ip();
  m.remote_udp_port = remote.port();
  m.ppid = d.ppid;
  m.data = d.data;
  application_->OnMessage(m, now_);
}

void IoLoop::OnAssociation(SctpBridge::Peer* peer, uint16_t local_port, uint16_t remote_port,
                           SctpBridge::AssocId assoc, SctpBridge::AssocEvent event) {
  if (tls_ != nullptr && tls_->IsSecurePort(local_port)) {
    tls_->OnAssociation(peer, local_port, remote_port, assoc, event);
    return;
  }
  if (event == SctpBridge::AssocEvent::kDown) {
    application_->OnAssociationDown({peer, assoc}, local_port, now_);
  }
}

void IoLoop::OnPeerClosed(SctpBridge::Peer* peer) {
  if (tls_ != nullptr) tls_->OnPeerClosed(peer);
}

void IoLoop::OnSecureMessage(const InboundMessage& message) {
  application_->OnMessage(message, now_);
}

void IoLoop::OnSecureDown(const AssocRef& assoc, uint16_t logical_port) {
  application_->OnAssociationDown(assoc, logical_port, now_);
}

bool IoLoop::SendTo(const protocol::IpAddress& ip, uint16_t udp_port, uint16_t local_port,
                    uint16_t remote_port, uint32_t ppid, absl::Span<const uint8_t> message) {
  if (tls_ != nullptr) {
    if (std::optional<bool> sent =
            tls_->SendTo(Endpoint::Of(ip, udp_port), local_port, remote_port, message)) {
      return *sent;
    }
  }
  return bridge_->SendTo(Endpoint::Of(ip, udp_port), local_port, remote_port, ppid, message);
}

void IoLoop::ForEachCounter(PacketIo::CounterFn fn) const {
  io_->ForEachCounter(fn);
  stats_.ForEach(fn);
  overload_.ForEach(fn);
  bridge_->stats().ForEach(fn);
  fn("sctp_peers", "remote endpoints with SCTP state (gauge)", bridge_->peer_count());
  fn("sctp_associations", "associations up (gauge)", bridge_->association_count());
  if (tls_ != nullptr) {
    tls_->stats().ForEach(fn);
    fn("tls_associations", "secure associations, up or being set up (gauge)", tls_->size());
  }
}

}  // namespace rspd::dataplane
