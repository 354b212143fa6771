// File: control/registrar_management.cc
//
// The registrar's side of the management interface (docs/management.md):
// the HTTP threads queue a query and wait; the I/O thread starts it at its
// next tick, asks the shards (ManageCommand) and the ENRP thread for their
// parts, and completes it when the last part is back. The I/O thread only
// copies numbers; rendering is the HTTP thread's.

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "control/registrar.h"
#include "protocol/codec.h"

namespace rspd::control {

struct Registrar::ManagementQuery {
  enum class Kind { kStatus, kPools, kPool, kPeers };
  Kind kind = Kind::kStatus;
  std::string handle;  // kPool
  size_t max = 0;      // kPool
  // Filled on the I/O thread; read by the asker after `done`.
  management::StatusSnapshot status;
  management::PoolsSnapshot pools;
  management::PoolSnapshot pool;
  management::PeersSnapshot peers;
  std::vector<std::unique_ptr<handlespace::ManageCommand>> commands;
  size_t awaiting = 0;  // parts not answered yet
  absl::Notification done;
};

bool Registrar::Ask(const std::shared_ptr<ManagementQuery>& query, absl::Duration timeout) {
  {
    absl::MutexLock lock(&management_mu_);
    management_queue_.push_back(query);
  }
  management_pending_.store(true, std::memory_order_release);
  // A query that times out stays with the I/O thread, which completes it
  // later into nobody's hands (the shared_ptr keeps it alive).
  return query->done.WaitForNotificationWithTimeout(timeout);
}

bool Registrar::Status(management::StatusSnapshot* out, absl::Duration timeout) {
  auto query = std::make_shared<ManagementQuery>();
  query->kind = ManagementQuery::Kind::kStatus;
  if (!Ask(query, timeout)) return false;
  *out = std::move(query->status);
  return true;
}

bool Registrar::Pools(management::PoolsSnapshot* out, absl::Duration timeout) {
  auto query = std::make_shared<ManagementQuery>();
  query->kind = ManagementQuery::Kind::kPools;
  if (!Ask(query, timeout)) return false;
  *out = std::move(query->pools);
  return true;
}

bool Registrar::Pool(const std::string& handle, size_t max, management::PoolSnapshot* out,
                     absl::Duration timeout) {
  auto query = std::make_shared<ManagementQuery>();
  query->kind = ManagementQuery::Kind::kPool;
  query->handle = handle;
  query->max = max;
  if (!Ask(query, timeout)) return false;
  *out = std::move(query->pool);
  return true;
}

bool Registrar::Peers(management::PeersSnapshot* out, absl::Duration timeout) {
  auto query = std::make_shared<ManagementQuery>();
  query->kind = ManagementQuery::Kind::kPeers;
  if (!Ask(query, timeout)) return false;
  *out = std::move(query->peers);
  return true;
}

void Registrar::ServeManagement(Tick now) {
  if (!management_pending_.exchange(false, std::memory_order_acquire)) return;
  std::vector<std::shared_ptr<ManagementQuery>> queued;
  {
    absl::MutexLock lock(&management_mu_);
    queued.swap(management_queue_);
  }
  for (std::shared_ptr<ManagementQuery>& query : queued) {
    management_running_.push_back(query);
    Start(*query, now);
  }
}

void Registrar::Start(ManagementQuery& query, Tick now) {
  using Op = handlespace::ManageCommand::Op;
  const auto ask_shard = [&](uint32_t shard, Op op) {
    auto command = std::make_unique<handlespace::ManageCommand>();
    command->op = op;
    command->home = config_.server_id;
    command->handle = query.handle;
    command->max = query.max;
    ManagementQuery* q = &query;
    command->on_answer = [this, q](handlespace::ManageCommand*) { PartDone(q, loop_->now()); };
    ++query.awaiting;
    query.commands.push_back(std::move(command));
    // Must run: a view waits behind a full ring rather than failing.
    shards_->Submit(shard, query.commands.back().get(), /*must_run=*/true);
  };
  ++query.awaiting;  // held until every part is asked for (inline shards answer at once)
  switch (query.kind) {
    case ManagementQuery::Kind::kStatus:
      for (uint32_t k = 0; k < shards_->shard_count(); ++k) ask_shard(k, Op::kCount);
      break;
    case ManagementQuery::Kind::kPools:
      for (uint32_t k = 0; k < shards_->shard_count(); ++k) ask_shard(k, Op::kSummarize);
      break;
    case ManagementQuery::Kind::kPool:
      ask_shard(shards_->ShardFor(query.handle), Op::kDescribePool);
      break;
    case ManagementQuery::Kind::kPeers: {
      ++query.awaiting;
      ManagementQuery* q = &query;
      enrp_->ListPeers([this, q](std::vector<EnrpThread::PeerInfo> peers) {
        for (const EnrpThread::PeerInfo& p : peers) {
          q->peers.peers.push_back({p.id, p.address, p.state, p.silent_ms, p.owned});
        }
        PartDone(q, loop_->now());
      });
      break;
    }
  }
  if (!shards_->threaded()) CollectAnswers(now);
  PartDone(&query, now);
}

void Registrar::PartDone(ManagementQuery* query, Tick now) {
  if (--query->awaiting != 0) return;
  using Op = handlespace::ManageCommand::Op;
  for (const std::unique_ptr<handlespace::ManageCommand>& c : query->commands) {
    switch (c->op) {
      case Op::kCount:
        query->status.pools += c->pool_count;
        query->status.pool_elements += c->element_count;
        query->status.owned_pool_elements += c->owned_count;
        break;
      case Op::kSummarize:
        query->pools.total += c->pools.size();
        std::move(c->pools.begin(), c->pools.end(), std::back_inserter(query->pools.pools));
        break;
      case Op::kDescribePool:
        query->pool.found = c->found;
        if (c->found) query->pool.pool = std::move(c->pools[0]);
        query->pool.elements = std::move(c->elements);
        query->pool.truncated = query->pool.elements.size() < query->pool.pool.elements;
        query->pool.home = config_.server_id;
        query->pool.now = now;
        break;
      case Op::kSetLimits:
        break;
    }
  }
  query->commands.clear();
  if (query->kind == ManagementQuery::Kind::kStatus) FillStatus(*query, now);
  query->done.Notify();
  auto it = std::find_if(management_running_.begin(), management_running_.end(),
                         [query](const auto& q) { return q.get() == query; });
  if (it != management_running_.end()) management_running_.erase(it);
}

void Registrar::FillStatus(ManagementQuery& query, Tick) {
  using management::Family;
  management::StatusSnapshot& s = query.status;
  s.server_id = config_.server_id;
  s.uptime_seconds = absl::ToDoubleSeconds(absl::Now() - started_);
  s.secure = config_.secure();
  s.ready = enrp_->ready();
  s.io = IoBackendName(config_.io);
  s.rates = rates_;
  s.peers = enrp_->peer_count();
  s.asap_sessions = asap_->session_count();
  ForEachCounter([&](const char* name, const char* help, uint64_t value) {
    // Gauges say so in their help text (docs/style.md, "Counters").
    const bool gauge = strstr(help, "(gauge)") != nullptr;
    s.families.push_back(
        {name, help, gauge ? Family::kGauge : Family::kCounter, {{"", "", value}}});
    if (strcmp(name, "sctp_associations") == 0) s.associations = value;
  });
  s.families.push_back(
      {"pools", "pools in the handlespace (gauge)", Family::kGauge, {{"", "", s.pools}}});
  s.families.push_back({"pool_elements",
                        "PEs in the handlespace (gauge)",
                        Family::kGauge,
                        {{"", "", s.pool_elements}}});
  s.families.push_back({"owned_pool_elements",
                        "PEs whose home is this registrar (gauge)",
                        Family::kGauge,
                        {{"", "", s.owned_pool_elements}}});
  s.families.push_back({"uptime_seconds",
                        "seconds since rspd started (gauge)",
                        Family::kGauge,
                        {{"", "", static_cast<uint64_t>(s.uptime_seconds)}}});
  // Per message type (RFC 5352 §2, RFC 5353 §2), named as the RFCs name them.
  const auto by_type = [&](protocol::Protocol protocol, const MessageCounts& counts,
                           const char* received_name, const char* sent_name) {
    Family received{received_name, "messages received, by type", Family::kCounter, {}};
    Family sent{sent_name, "messages sent, by type", Family::kCounter, {}};
    counts.ForEach([&](uint8_t type, uint64_t in, uint64_t out) {
      const char* label = type == 0 ? "unknown" : protocol::MessageTypeName(protocol, type);
      if (type != 0 && strstr(label, "UNKNOWN") != nullptr) return;  // no such type
      received.samples.push_back({"type", label, in});
      sent.samples.push_back({"type", label, out});
    });
    s.families.push_back(std::move(received));
    s.families.push_back(std::move(sent));
  };
  // Per shard (each on its lcore with --shard_lcores): the commands it ran.
  Family per_shard{"shard_commands", "handlespace commands each shard ran", Family::kCounter, {}};
  for (uint32_t k = 0; k < shards_->shard_count(); ++k) {
    per_shard.samples.push_back(
        {"shard", absl::StrCat(k),
         shards_->shard(k).stats().commands.load(std::memory_order_relaxed)});
  }
  s.families.push_back(std::move(per_shard));
  by_type(protocol::Protocol::kAsap, asap_->message_counts(), "asap_received_messages",
          "asap_sent_messages");
  by_type(protocol::Protocol::kEnrp, enrp_->message_counts(), "enrp_received_messages",
          "enrp_sent_messages");
  const auto histogram = [&](const char* name, const char* help, const LatencyHistogram& h) {
    management::Histogram out;
    out.name = name;
    out.help = help;
    const LatencyHistogram::Snapshot snap = h.Read();
    for (size_t b = 0; b < LatencyHistogram::kBoundsMillis.size(); ++b) {
      out.buckets.emplace_back(LatencyHistogram::kBoundsMillis[b] / 1000.0, snap.cumulative[b]);
    }
    out.count = snap.count;
    out.sum = snap.sum_millis / 1000.0;
    s.histograms.push_back(std::move(out));
  };
  histogram("registration_latency_seconds",
            "from the loop turn of a REGISTRATION to that of its answer (1 ms resolution)",
            asap_->registration_latency());
  histogram("resolution_latency_seconds",
            "from the loop turn of a HANDLE_RESOLUTION to that of its answer (1 ms resolution)",
            asap_->resolution_latency());
}

void Registrar::SampleRates(Tick now) {
  if (now - last_sample_.at < 1000) return;
  RateSample sample;
  sample.at = now;
  const AsapServerStats& asap = asap_->stats();
  sample.asap_messages = asap.messages_received.load(std::memory_order_relaxed);
  sample.registrations = asap.registrations.load(std::memory_order_relaxed) +
                         asap.reregistrations.load(std::memory_order_relaxed);
  sample.resolutions = asap.resolutions.load(std::memory_order_relaxed);
  sample.enrp_messages = enrp_->stats().enrp_messages_received.load(std::memory_order_relaxed);
  if (last_sample_.at != 0) {
    const double seconds = static_cast<double>(now - last_sample_.at) / 1000.0;
    rates_.asap_messages =
        static_cast<double>(sample.asap_messages - last_sample_.asap_messages) / seconds;
    rates_.registrations =
        static_cast<double>(sample.registrations - last_sample_.registrations) / seconds;
    rates_.resolutions =
        static_cast<double>(sample.resolutions - last_sample_.resolutions) / seconds;
    rates_.enrp_messages =
        static_cast<double>(sample.enrp_messages - last_sample_.enrp_messages) / seconds;
  }
  last_sample_ = sample;
}

}  // namespace rspd::control
