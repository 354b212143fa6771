#include "control/enrp/enrp_thread.h"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "protocol/address.h"
#include "protocol/codec.h"

namespace rspd::control {
namespace {

// How often the ENRP thread runs the server's timers when nothing arrives
// (its timers are hundreds of milliseconds and more).
constexpr auto kTimerPeriod = std::chrono::milliseconds(5);
// Tasks a batch holds before it is handed over without waiting for the end
// of the turn (a chunk of a table download makes a thousand).
constexpr size_t kBatch = 256;
// Bytes of ENRP messages waiting for the ENRP thread at most: a flood
// (anyone can send to the ENRP port and the multicast group) cannot grow
// the inbox without bound while the thread is busy.
constexpr size_t kMaxQueuedBytes = size_t{64} << 20;

// Milliseconds of CLOCK_MONOTONIC, the I/O loop's clock.
handlespace::Tick NowMillis() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<handlespace::Tick>(ts.tv_sec) * 1000 +
         static_cast<handlespace::Tick>(ts.tv_nsec) / 1000000;
}

}  // namespace

EnrpThread::EnrpThread(const RegistrarConfig& config, dataplane::ShardExecutor* shards,
                       dataplane::MessageSender* sender, dataplane::AddressedSender* addressed,
                       AsapServer* asap)
    : shards_(shards),
      sender_(sender),
      addressed_(addressed),
      asap_(asap),
      shard_count_(shards->shard_count()),
      threaded_(config.enrp_thread),
      server_(config, this, this, this),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

EnrpThread::~EnrpThread() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void EnrpThread::Start(uint16_t udp_port, Tick now) {
  if (multicast_) {
    server_.set_multicast([this](absl::Span<const uint8_t> presence) {
      ToIo([this, bytes = std::vector<uint8_t>(presence.begin(), presence.end())](Tick) {
        multicast_(bytes);
      });
    });
  }
  if (!threaded_) {
    server_.Start(udp_port, now);  // inline: on the loop's clock
    started_ = true;
    return;
  }
  ToEnrp([this, udp_port](Tick now) { server_.Start(udp_port, now); });
  FlushToEnrp();
  thread_ = std::thread([this] { Loop(); });
  started_ = true;
}

void EnrpThread::Stop() {
  if (!started_) return;
  started_ = false;
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_enrp_.notify_one();
    thread_.join();
  }
  // The server is this thread's now: everything in flight is finished here,
  // so that no shard command stays unanswered (and unfreed).
  Drain(/*until_answered=*/true, NowMillis());
}

void EnrpThread::Drain(bool until_answered, Tick now) {
  // Whatever the server asked for runs, the shards answer, and it takes the
  // answers, until nothing is left (a download's imports follow one another).
  // Every round runs at the caller's `now` (inline: the loop's clock for
  // this turn; no clock read and, with no thread, no lock). The server's
  // clock never goes back (its timers subtract times): rounds that read a
  // fresh clock once made the next OnInputDone of the same turn look older
  // than the answers they had stamped.
  now = std::max(now, server_now_);
  server_now_ = now;
  for (int round = 0; round < 1000; ++round) {
    std::vector<Task> inbox;
    inbox.swap(to_enrp_);
    if (threaded_) {
      std::lock_guard<std::mutex> lock(mutex_);
      for (Task& task : inbox_) inbox.push_back(std::move(task));
      inbox_.clear();
    }
    for (Task& task : inbox) {
      task(now);
    }
    if (!threaded_ && round == 0) server_.OnTimer(now);
    std::vector<Task> outbox;
    outbox.swap(to_io_);
    if (threaded_) {
      std::lock_guard<std::mutex> lock(mutex_);
      for (Task& task : outbox_) outbox.push_back(std::move(task));
      outbox_.clear();
      outbox_pending_.store(false, std::memory_order_relaxed);
    }
    for (Task& task : outbox) task(now);
    size_t answers = 0;
    while (shards_->Collect([&](handlespace::ShardCommand* c) {
      ++answers;
      if (c->management()) {
        auto* manage = static_cast<handlespace::ManageCommand*>(c);
        manage->on_answer(manage);
      } else if (c->enrp()) {
        OnShardAnswer(c, now);
      } else {
        asap_->OnShardAnswer(c, now);
      }
    }) != 0) {
    }
    peer_count_.store(server_.peers().size(), std::memory_order_relaxed);
    if (inbox.empty() && outbox.empty() && answers == 0 && to_enrp_.empty()) {
      if (!until_answered || server_.in_flight() == 0) break;
      // Shard lcores still working on the last commands.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  adoption_backlog_.store(asap_->adoption_backlog(), std::memory_order_relaxed);
}

void EnrpThread::Loop() {
  std::vector<Task> tasks;
  while (true) {
    tasks.clear();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_enrp_.wait_for(lock, kTimerPeriod, [this] { return stopping_ || !inbox_.empty(); });
      if (stopping_) return;
      tasks.swap(inbox_);
    }
    const Tick now = NowMillis();
    for (Task& task : tasks) task(now);
    server_.OnTimer(now);
    peer_count_.store(server_.peers().size(), std::memory_order_relaxed);
    FlushToIo();
  }
}

void EnrpThread::ToIo(Task task) {
  to_io_.push_back(std::move(task));
  if (threaded_ && to_io_.size() >= kBatch) FlushToIo();
}

void EnrpThread::FlushToIo() {
  if (to_io_.empty()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (outbox_.empty()) {
    outbox_.swap(to_io_);
    // One wake-up per batch: the I/O thread runs the whole outbox at once.
    // Under the lock, so that the eventfd is readable exactly while
    // outbox_pending_ is set (RunOutbox).
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
      // The counter is full (the I/O thread is far behind): it wakes anyway.
    }
    outbox_pending_.store(true, std::memory_order_release);
  } else {
    for (Task& task : to_io_) outbox_.push_back(std::move(task));
    to_io_.clear();
  }
}

void EnrpThread::ToEnrp(Task task) {
  to_enrp_.push_back(std::move(task));
  if (threaded_ && to_enrp_.size() >= kBatch) FlushToEnrp();
}

void EnrpThread::Flush(Tick now) {
  if (threaded_) {
    FlushToEnrp();
  } else if (started_) {
    // Inline: the server runs here and now, its timers with it.
    Drain(/*until_answered=*/false, now);
  }
}

void EnrpThread::FlushToEnrp() {
  if (to_enrp_.empty()) return;
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    was_empty = inbox_.empty();
    if (was_empty) {
      inbox_.swap(to_enrp_);
    } else {
      for (Task& task : to_enrp_) inbox_.push_back(std::move(task));
      to_enrp_.clear();
    }
  }
  if (was_empty) wake_enrp_.notify_one();
}

void EnrpThread::RunOutbox(Tick now) {
  // Every turn of the loop asks: most find nothing, without a lock or a
  // system call.
  if (!outbox_pending_.load(std::memory_order_acquire)) return;
  std::vector<Task> tasks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks.swap(outbox_);
    outbox_pending_.store(false, std::memory_order_relaxed);
    uint64_t count;
    if (read(wake_fd_, &count, sizeof count) < 0) {
      // Not readable (EAGAIN) cannot be: it was written with the flag set.
    }
  }
  for (Task& task : tasks) task(now);
  adoption_backlog_.store(asap_->adoption_backlog(), std::memory_order_relaxed);
}

bool EnrpThread::Admit(size_t bytes) {
  if (queued_bytes_.load(std::memory_order_relaxed) + bytes > kMaxQueuedBytes) {
    messages_shed_.store(messages_shed_.load(std::memory_order_relaxed) + 1,
                         std::memory_order_relaxed);
    return false;
  }
  queued_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  return true;
}

void EnrpThread::OnMessage(const dataplane::InboundMessage& in) {
  if (!Admit(in.data.size())) return;
  ToEnrp([this, in, bytes = std::vector<uint8_t>(in.data.begin(), in.data.end())](Tick now) {
    queued_bytes_.fetch_sub(bytes.size(), std::memory_order_relaxed);
    dataplane::InboundMessage copy = in;
    copy.data = bytes;
    protocol::Message message;
    protocol::DecodeError error;
    if (!protocol::DecodeMessage(protocol::Protocol::kEnrp, copy.data, &message, &error)) {
      server_.OnUndecodable(copy, error);
    } else {
      server_.OnMessage(copy, message, now);
    }
  });
}

void EnrpThread::OnMulticast(const protocol::IpAddress& source,
                             absl::Span<const uint8_t> datagram) {
  if (!Admit(datagram.size())) return;
  ToEnrp([this, source, bytes = std::vector<uint8_t>(datagram.begin(), datagram.end())](Tick now) {
    queued_bytes_.fetch_sub(bytes.size(), std::memory_order_relaxed);
    protocol::Message m;
    protocol::DecodeError error;
    if (protocol::DecodeMessage(protocol::Protocol::kEnrp, bytes, &m, &error)) {
      server_.OnMulticastPresence(source, m, now);
    }
  });
}

void EnrpThread::OnShardAnswer(handlespace::ShardCommand* command, Tick) {
  // At once, in the order the shard answered: a re-registration of the PE
  // collected after this answer must keep its session.
  if (server_.MovedAwayFromUs(*command)) {
    const auto& update = static_cast<const handlespace::PeerUpdateCommand&>(*command);
    asap_->ForgetMovedPe(update.handle, update.pe.id);
  }
  ToEnrp([this, command](Tick now) { server_.OnShardAnswer(command, now); });
}

void EnrpThread::OnOwnedPeRegistered(absl::string_view handle, const protocol::PoolElement& pe) {
  ToEnrp([this, h = std::string(handle), pe](Tick) { server_.OnOwnedPeRegistered(h, pe); });
}

void EnrpThread::OnOwnedPeRemoved(absl::string_view handle, const protocol::PoolElement& pe) {
  ToEnrp([this, h = std::string(handle), pe](Tick) { server_.OnOwnedPeRemoved(h, pe); });
}

void EnrpThread::AddStaticPeers(std::vector<RegistrarConfig::PeerAddress> peers) {
  ToEnrp([this, peers = std::move(peers)](Tick now) { server_.AddStaticPeers(peers, now); });
}

void EnrpThread::ListPeers(std::function<void(std::vector<PeerInfo>)> done) {
  ToEnrp([this, done = std::move(done)](Tick now) {
    std::vector<PeerInfo> peers;
    for (const auto& [id, peer] : server_.peers()) {
      peers.push_back({id, protocol::JoinHostPort(peer.ip.ToString(), peer.udp_port),
                       protocol::PeerStateName(peer.state),
                       now > peer.last_heard ? now - peer.last_heard : 0, peer.owned,
                       peer.our_checksum});
    }
    ToIo([done, peers = std::move(peers)](Tick) { done(peers); });
  });
}

void EnrpThread::Submit(uint32_t shard, handlespace::ShardCommand* command) {
  ToIo([this, shard, command](Tick) { shards_->Submit(shard, command, /*must_run=*/true); });
}

void EnrpThread::Adopt(absl::string_view handle, const protocol::PoolElement& pe, Tick) {
  ToIo([this, h = std::string(handle), pe](Tick now) { asap_->Adopt(h, pe, now); });
}

void EnrpThread::ForgetMovedPe(absl::string_view, uint32_t) {
  // Done on the I/O thread as the answer was collected (OnShardAnswer).
}

bool EnrpThread::Send(const dataplane::AssocRef& to, uint16_t local_port, uint32_t ppid,
                      absl::Span<const uint8_t> message) {
  ToIo([this, to, local_port, ppid,
        bytes = std::vector<uint8_t>(message.begin(), message.end())](Tick) {
    if (!sender_->Send(to, local_port, ppid, bytes)) {
      ToEnrp([this](Tick now) { server_.OnSendRefused(0, now); });  // a tool's
    }
  });
  return true;
}

bool EnrpThread::SendTo(const protocol::IpAddress& ip, uint16_t udp_port, uint16_t local_port,
                        uint16_t remote_port, uint32_t ppid, absl::Span<const uint8_t> message) {
  // RFC 5353 §2: every ENRP message names its Receiving Server ID at
  // offset 8 (0: not known yet, or everyone).
  handlespace::RegistrarId receiver = 0;
  if (message.size() >= 12) {
    for (size_t i = 8; i < 12; ++i) receiver = receiver << 8 | message[i];
  }
  ToIo([this, ip, udp_port, local_port, remote_port, ppid, receiver,
        bytes = std::vector<uint8_t>(message.begin(), message.end())](Tick) {
    if (!addressed_->SendTo(ip, udp_port, local_port, remote_port, ppid, bytes)) {
      ToEnrp([this, receiver](Tick now) { server_.OnSendRefused(receiver, now); });
    }
  });
  return true;
}

}  // namespace rspd::control
