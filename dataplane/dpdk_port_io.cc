// File: dataplane/dpdk_port_io.cc

#include "dataplane/dpdk_port_io.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rspd::dataplane {
namespace {

// Per-core mbuf cache of the pool (DPDK's usual size; must divide into the
// pool size well, RTE_MEMPOOL_CACHE_MAX_SIZE at most).
constexpr unsigned kMempoolCache = 256;

bool HasArg(const std::vector<std::string>& args, std::initializer_list<const char*> names) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
    return std::any_of(names.begin(), names.end(), [&](const char* n) {
      return a == n || absl::StartsWith(a, absl::StrCat(n, "="));
    });
  });
}

// Free 2 MiB (default size) hugepages, from /proc/meminfo.
long FreeHugepages() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  long value = 0;
  while (meminfo >> key >> value) {
    if (key == "HugePages_Free:") return value;
    meminfo.ignore(256, '\n');
  }
  return 0;
}

std::string MacText(const rte_ether_addr& mac) {
  char text[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(text, sizeof(text), &mac);
  return text;
}

}  // namespace

uint64_t DpdkPortIo::NowMillis() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

absl::StatusOr<std::unique_ptr<DpdkPortIo>> DpdkPortIo::Open(const DpdkOptions& options) {
  if (options.ports.empty()) {
    return absl::InvalidArgumentError("dpdk: no port has an address (--dpdk_addresses)");
  }
  std::vector<std::string> args = {"rspd"};
  args.insert(args.end(), options.eal_args.begin(), options.eal_args.end());
  // Memory: hugepages when free ones exist (--in-memory: no files, several
  // processes side by side), else plain pages (--no-huge, 256 MiB, no shared
  // config); what the arguments say themselves is kept.
  const bool no_huge = HasArg(args, {"--no-huge"});
  const bool sized = HasArg(args, {"-m", "--socket-mem"});
  const bool shared_config = HasArg(args, {"--in-memory", "--file-prefix", "--no-shconf"});
  const long hugepages = FreeHugepages();
  if (!no_huge && hugepages == 0) {
    if (sized || HasArg(args, {"--in-memory", "--file-prefix", "--huge-dir"})) {
      return absl::FailedPreconditionError(
          "dpdk: no free hugepages; reserve some (echo 256 > /proc/sys/vm/nr_hugepages, "
          "docs/dpdk.md) or add --no-huge to --dpdk_eal_args");
    }
    args.push_back("--no-huge");
  }
  if (no_huge || hugepages == 0) {
    if (!sized) args.insert(args.end(), {"-m", "256"});
    if (!shared_config) args.push_back("--no-shconf");
  } else if (!shared_config) {
    args.push_back("--in-memory");
  }
  if (!HasArg(args, {"-l", "-c", "--lcores"})) {
    const int cpu = sched_getcpu();
    args.insert(args.end(), {"-l", std::to_string(cpu < 0 ? 0 : cpu)});
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    const int error = rte_errno;
    std::string hint;
    if (geteuid() != 0) hint = "; DPDK needs root (or CAP_SYS_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK)";
    if (error == EALREADY) hint = "; the EAL was set up already in this process";
    return absl::FailedPreconditionError(absl::StrCat(
        "dpdk: rte_eal_init(", absl::StrJoin(args, " "), ") failed: ", rte_strerror(error), hint));
  }
  std::unique_ptr<DpdkPortIo> io(new DpdkPortIo(options));
  const uint16_t available = rte_eth_dev_count_avail();
  if (available < options.ports.size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "dpdk: ", options.ports.size(), " port(s) have addresses but the EAL found ", available,
        "; bind a NIC to vfio-pci (dpdk-devbind.py) or add --vdev=... to --dpdk_eal_args "
        "(docs/dpdk.md)"));
  }
  const uint64_t needed =
      uint64_t{options.ports.size()} *
          (uint64_t{options.rx_queues} * options.rx_descriptors + options.tx_descriptors) +
      4 * kBurst + kMempoolCache;
  if (options.mbufs < needed) {
    return absl::InvalidArgumentError(absl::StrCat("dpdk: --dpdk_mbufs=", options.mbufs,
                                                   " is fewer than the descriptors need (", needed,
                                                   ")"));
  }
  io->pool_ = rte_pktmbuf_pool_create("rspd_mbufs", options.mbufs, kMempoolCache, 0,
                                      RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  if (io->pool_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("dpdk: no memory for ", options.mbufs, " mbufs: ", rte_strerror(rte_errno),
                     " (more hugepages, a larger -m, or a smaller --dpdk_mbufs)"));
  }
  io->ports_.reserve(options.ports.size());
  for (uint16_t id = 0; id < options.ports.size(); ++id) {
    if (absl::Status s = io->SetUpPort(id, options.ports[id]); !s.ok()) return s;
  }
  io->now_ms_ = NowMillis();
  return io;
}

absl::Status DpdkPortIo::SetUpPort(uint16_t id, const DpdkOptions::Port& port) {
  rte_eth_dev_info info;
  if (int rc = rte_eth_dev_info_get(id, &info); rc != 0) {
    return absl::UnavailableError(absl::StrCat("dpdk: port ", id, ": ", rte_strerror(-rc)));
  }
  PortState state;
  state.id = id;
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  state.name = rte_eth_dev_get_name_by_port(id, name) == 0 ? name : std::to_string(id);
  state.rx_queues = std::min<uint16_t>(options_.rx_queues, info.max_rx_queues);
  rte_eth_conf conf{};
  // RSS over the IP addresses: one remote's packets stay on one queue.
  const uint64_t rss = info.flow_type_rss_offloads & RTE_ETH_RSS_IP;
  if (state.rx_queues > 1 && rss != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss;
  } else {
    state.rx_queues = 1;
  }
  conf.rxmode.mtu = options_.mtu;
  auto fail = [&](const char* what, int rc) {
    return absl::UnavailableError(
        absl::StrCat("dpdk: port ", id, " (", state.name, "): ", what, ": ", rte_strerror(-rc)));
  };
  if (int rc = rte_eth_dev_configure(id, state.rx_queues, 1, &conf); rc != 0) {
    return fail("configure", rc);
  }
  uint16_t rxd = options_.rx_descriptors, txd = options_.tx_descriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &rxd, &txd); rc != 0) {
    return fail("descriptors", rc);
  }
  const int socket = rte_eth_dev_socket_id(id);
  for (uint16_t q = 0; q < state.rx_queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(id, q, rxd, static_cast<unsigned>(socket), nullptr, pool_);
        rc != 0) {
      return fail("RX queue", rc);
    }
  }
  if (int rc = rte_eth_tx_queue_setup(id, 0, txd, static_cast<unsigned>(socket), nullptr);
      rc != 0) {
    return fail("TX queue", rc);
  }
  if (int rc = rte_eth_dev_start(id); rc != 0) return fail("start", rc);
  // Neighbor Discovery arrives on multicast groups (RFC 4861 §7.2.2); not
  // every PMD filters by group, so all multicast is taken and the NetStack
  // picks its own.
  if (rte_eth_allmulticast_enable(id) != 0) rte_eth_promiscuous_enable(id);
  rte_ether_addr mac;
  rte_eth_macaddr_get(id, &mac);
  NetStack::Config config;
  std::copy(std::begin(mac.addr_bytes), std::end(mac.addr_bytes), config.mac.begin());
  config.addresses = port.addresses;
  config.ipv4_gateway = port.ipv4_gateway;
  config.ipv6_gateway = port.ipv6_gateway;
  config.encapsulation_port = options_.encapsulation_port;
  config.mtu = options_.mtu;
  config.max_replies_per_second = options_.max_replies_per_second;
  config.max_echo_replies_per_second = options_.max_echo_replies_per_second;
  state.stack = std::make_unique<NetStack>(config);
  state.counter_names.push_back(absl::StrCat("dpdk_port", id, "_rx_packets"));
  state.counter_names.push_back(absl::StrCat("dpdk_port", id, "_tx_packets"));
  state.counter_names.push_back(absl::StrCat("dpdk_port", id, "_rx_missed"));
  state.counter_names.push_back(absl::StrCat("dpdk_port", id, "_rx_nombuf"));
  state.counter_names.push_back(absl::StrCat("dpdk_port", id, "_link_up"));
  for (uint16_t q = 0; q < state.rx_queues && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; ++q) {
    state.counter_names.push_back(absl::StrCat("dpdk_port", id, "_rxq", q, "_packets"));
  }
  ports_.push_back(std::move(state));
  return absl::OkStatus();
}

DpdkPortIo::~DpdkPortIo() {
  Flush();
  rte_pktmbuf_free_bulk(delivered_.data(), static_cast<unsigned>(delivered_count_));
  delivered_count_ = 0;
  for (PortState& port : ports_) {
    rte_pktmbuf_free_bulk(port.tx.data(), port.tx_count);
    port.tx_count = 0;
    rte_eth_dev_stop(port.id);
    rte_eth_dev_close(port.id);
  }
  if (pool_ != nullptr) rte_mempool_free(pool_);
  rte_eal_cleanup();
}

absl::Span<const Datagram> DpdkPortIo::ReceiveBurst() {
  // The previous burst's datagrams are consumed: their mbufs go back.
  rte_pktmbuf_free_bulk(delivered_.data(), static_cast<unsigned>(delivered_count_));
  delivered_count_ = 0;
  now_ms_ = NowMillis();
  size_t n = 0;
  size_t pulled = 0;
  std::array<rte_mbuf*, kBurst> burst;
  // Frames are pulled until kBurst datagrams are found or every queue is
  // empty (up to kMaxFramesPerCall): frames that are answered or dropped
  // here must not make a busy port look drained to the I/O loop. Ports and
  // queues take turns starting, so that none waits behind a busy one.
  for (size_t k = 0; k < ports_.size() && n < kBurst; ++k) {
    PortState& port = ports_[(next_port_ + k) % ports_.size()];
    for (uint16_t qk = 0; qk < port.rx_queues && n < kBurst; ++qk) {
      const uint16_t q = static_cast<uint16_t>((port.next_queue + qk) % port.rx_queues);
      while (n < kBurst && pulled < kMaxFramesPerCall) {
        const uint16_t asked = static_cast<uint16_t>(kBurst - n);
        const uint16_t got = rte_eth_rx_burst(port.id, q, burst.data(), asked);
        pulled += got;
        DpdkStats::Bump(stats_.dpdk_rx_frames, got);
        for (uint16_t i = 0; i < got; ++i) Input(port, burst[i], &n);
        if (got < asked) break;  // this queue is empty
      }
    }
    port.next_queue = static_cast<uint16_t>((port.next_queue + 1) % port.rx_queues);
  }
  next_port_ = (next_port_ + 1) % ports_.size();
  // After the input: packets held for a neighbor that just answered go now.
  for (PortState& port : ports_) {
    port.stack->Poll(now_ms_, [&](absl::Span<const uint8_t> frame) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      if (m == nullptr) {
        DpdkStats::Bump(stats_.dpdk_tx_no_mbuf);
        return;
      }
      memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
             frame.size());
      Transmit(port, m);
    });
  }
  delivered_count_ = n;
  return absl::MakeConstSpan(datagrams_.data(), n);
}

void DpdkPortIo::Input(PortState& port, rte_mbuf* m, size_t* n) {
  if (m->nb_segs != 1) {
    DpdkStats::Bump(stats_.dpdk_rx_segmented);
    rte_pktmbuf_free(m);
    return;
  }
  NetStack::Received r;
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  const size_t capacity = m->data_len + rte_pktmbuf_tailroom(m);
  switch (port.stack->Input(frame, m->data_len, capacity, now_ms_, &r)) {
    case NetStack::Verdict::kDeliver:
      datagrams_[*n] = {r.from, r.payload};
      delivered_[*n] = m;
      ++*n;
      break;
    case NetStack::Verdict::kReply:
      // The answer was written into the received mbuf: it goes back out.
      m->data_len = static_cast<uint16_t>(r.reply_length);
      m->pkt_len = static_cast<uint32_t>(r.reply_length);
      Transmit(port, m);
      break;
    case NetStack::Verdict::kDrop:
      rte_pktmbuf_free(m);
      break;
  }
}

DpdkPortIo::PortState& DpdkPortIo::Route(const protocol::IpAddress& ip) {
  if (ports_.size() == 1) return ports_[0];
  // A port on the destination's link first; only then one that reaches it
  // (a neighbor it knows, or its gateway).
  for (PortState& port : ports_) {
    if (port.stack->OnLink(ip) && port.stack->Reaches(ip)) return port;
  }
  for (PortState& port : ports_) {
    if (port.stack->Reaches(ip)) return port;
  }
  return ports_[0];
}

int DpdkPortIo::Send(const Endpoint& to, absl::Span<const uint8_t> datagram) {
  PortState& port = Route(to.ip());
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) {
    DpdkStats::Bump(stats_.dpdk_tx_no_mbuf);
    return ENOBUFS;
  }
  bool held = false;
  const size_t length = port.stack->BuildFrame(
      to, datagram, absl::MakeSpan(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_tailroom(m)), now_ms_,
      &held);
  if (length == 0) {
    rte_pktmbuf_free(m);
    // Held for a neighbor being resolved: sent later, not an error.
    return held ? 0 : ENETUNREACH;
  }
  m->data_len = static_cast<uint16_t>(length);
  m->pkt_len = static_cast<uint32_t>(length);
  Transmit(port, m);
  return 0;
}

void DpdkPortIo::Transmit(PortState& port, rte_mbuf* m) {
  port.tx[port.tx_count++] = m;
  if (port.tx_count == kBurst) FlushPort(port);
}

void DpdkPortIo::FlushPort(PortState& port) {
  if (port.tx_count == 0) return;
  const uint16_t sent = rte_eth_tx_burst(port.id, 0, port.tx.data(), port.tx_count);
  DpdkStats::Bump(stats_.dpdk_tx_frames, sent);
  if (sent < port.tx_count) {
    // The ring is full: SCTP retransmits what matters (RFC 9260 §6.3).
    DpdkStats::Bump(stats_.dpdk_tx_ring_full, port.tx_count - sent);
    rte_pktmbuf_free_bulk(port.tx.data() + sent, port.tx_count - sent);
  }
  port.tx_count = 0;
}

void DpdkPortIo::Flush() {
  for (PortState& port : ports_) FlushPort(port);
}

uint64_t DpdkPortIo::ReadDrops() {
  // A NIC's counters are device registers, slow to read: once a tick.
  if (now_ms_ - drops_read_ms_ < kDropsReadMillis) return drops_;
  drops_read_ms_ = now_ms_;
  drops_ = 0;
  for (const PortState& port : ports_) {
    rte_eth_stats s;
    if (rte_eth_stats_get(port.id, &s) == 0) drops_ += s.imissed + s.rx_nombuf;
  }
  return drops_;
}

void DpdkPortIo::ForEachCounter(CounterFn fn) const {
#define RSPD_DPDK_STAT_EXPORT(name, help) \
  fn(#name, help, stats_.name.load(std::memory_order_relaxed));
  RSPD_DPDK_STATS(RSPD_DPDK_STAT_EXPORT)
#undef RSPD_DPDK_STAT_EXPORT
  // The L2/L3 counters, summed over the ports.
  struct Sum {
    const char* name;
    const char* help;
    uint64_t value;
  };
  std::vector<Sum> sums;
  for (const PortState& port : ports_) {
    size_t i = 0;
    port.stack->stats().ForEach([&](const char* name, const char* help, uint64_t value) {
      if (i == sums.size()) sums.push_back({name, help, 0});
      sums[i++].value += value;
    });
  }
  for (const Sum& s : sums) fn(s.name, s.help, s.value);
  for (const PortState& port : ports_) {
    rte_eth_stats s{};
    rte_eth_stats_get(port.id, &s);
    rte_eth_link link{};
    rte_eth_link_get_nowait(port.id, &link);
    const std::vector<std::string>& n = port.counter_names;
    fn(n[0].c_str(), "frames the port received", s.ipackets);
    fn(n[1].c_str(), "frames the port sent", s.opackets);
    fn(n[2].c_str(), "frames the port dropped: RX ring full", s.imissed);
    fn(n[3].c_str(), "frames the port dropped: no mbuf", s.rx_nombuf);
    fn(n[4].c_str(), "1 while the link is up (gauge)", link.link_status);
    for (size_t q = 5; q < n.size(); ++q) {
      fn(n[q].c_str(), "frames this RX queue received", s.q_ipackets[q - 5]);
    }
  }
}

std::string DpdkPortIo::Describe() const {
  std::string out;
  for (const PortState& port : ports_) {
    rte_ether_addr mac;
    rte_eth_macaddr_get(port.id, &mac);
    rte_eth_link link{};
    rte_eth_link_get_nowait(port.id, &link);
    std::vector<std::string> addresses;
    for (const InterfaceAddress& a : port.stack->config().addresses) {
      addresses.push_back(absl::StrCat(Endpoint::Of(a.ip, 0).HostString(), "/", a.prefix_length));
    }
    absl::StrAppend(&out, "  port ", port.id, " ", port.name, " ", MacText(mac), " ",
                    absl::StrJoin(addresses, ","), " link ", link.link_status ? "up" : "down", ", ",
                    port.rx_queues, " RX queue(s)\n");
  }
  return out;
}

}  // namespace rspd::dataplane
