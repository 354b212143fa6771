// dpdk_load: a load generator on the DPDK packet path, for bench/dpdk.sh's
// net_memif runs (a kernel-UDP generator such as tools/rspd_load cannot
// reach a memif port). It is rspd's own dataplane turned around: DPDK port,
// L2/L3, SCTP bridge and I/O loop, with an application that opens
// --associations associations to --target (each from its own SCTP port),
// keeps --in_flight handle resolutions outstanding on each, and prints the
// answers per second over --seconds after --warmup_seconds. With --pes, it
// first registers that many PEs in the pool over an association of their
// own. Against tools/sctp_echo (--pes=0) any answer counts.
//
//   dpdk_load --dpdk_eal_args="--no-pci --vdev=net_memif0,role=client,socket=/tmp/m.sock -l 1"
//     --dpdk_address=10.78.0.2/24 --target=10.78.0.1 --associations=1 --seconds=3

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "control/config.h"
#include "dataplane/dpdk_port_io.h"
#include "dataplane/io_loop.h"
#include "protocol/codec.h"
#include "tools/load_requests.h"

ABSL_FLAG(std::string, dpdk_eal_args, "", "EAL arguments, space-separated");
ABSL_FLAG(std::string, dpdk_address, "", "our port's ADDRESS/PREFIX");
ABSL_FLAG(std::string, target, "", "the server's IP address");
ABSL_FLAG(int, udp_port, 9899, "the server's (and our) SCTP-over-UDP port");
ABSL_FLAG(int, associations, 1, "SCTP associations");
ABSL_FLAG(int, in_flight, 32, "outstanding requests per association");
ABSL_FLAG(double, seconds, 3, "measurement window");
ABSL_FLAG(double, warmup_seconds, 1, "time before measuring");
ABSL_FLAG(int, pes, 10, "PEs registered in the pool first (0 against an echo server)");
ABSL_FLAG(std::string, pool, "load", "pool handle");
ABSL_FLAG(uint32_t, items, 3, "PEs asked for per resolution");

namespace {

using rspd::dataplane::AssocRef;
using rspd::dataplane::InboundMessage;
using rspd::dataplane::IoLoop;

constexpr uint16_t kAsapPort = 3863;
// Our SCTP ports: the registration association's, then one per load association.
constexpr uint16_t kFirstLocalPort = 20000;

class Load final : public IoLoop::Application {
 public:
  Load(IoLoop* loop, rspd::protocol::IpAddress target, rspd::protocol::IpAddress self)
      : loop_(loop), target_(target) {
    const std::string pool = absl::GetFlag(FLAGS_pool);
    resolution_ = rspd::tools::ResolutionRequest(pool, absl::GetFlag(FLAGS_items));
    for (int i = 0; i < absl::GetFlag(FLAGS_pes); ++i) {
      registrations_.push_back(
          rspd::tools::RegistrationRequest(pool, static_cast<uint32_t>(i + 1), self));
    }
  }

  void OnMessage(const InboundMessage& m, IoLoop::Tick now) override {
    if (m.local_port == kFirstLocalPort) {
      // A registration answered; the load starts when all are.
      if (++registered_ == registrations_.size()) StartLoad(now);
      return;
    }
    if (now >= measure_from_ && now < measure_until_) ++answered_;
    loop_->Send(m.from, m.local_port, rspd::protocol::kAsapPpid, resolution_);
  }
  void OnAssociationDown(const AssocRef&, uint16_t local_port, IoLoop::Tick) override {
    fprintf(stderr, "dpdk_load: association from port %u went down\n", local_port);
    failed_ = true;
  }
  void OnInputDone(IoLoop::Tick) override {}
  void OnTick(IoLoop::Tick now) override {
    if (!started_) {
      started_ = true;
      deadline_ = now + 20000;  // for the associations to come up
      if (registrations_.empty()) {
        StartLoad(now);
      } else {
        for (const auto& r : registrations_) SendTo(kFirstLocalPort, r);
      }
    }
    if (measure_until_ != 0 && now >= measure_until_) {
      const double seconds = static_cast<double>(measure_until_ - measure_from_) / 1000;
      printf("mode=resolve associations=%d in_flight=%d rate=%.0f msg/s\n",
             absl::GetFlag(FLAGS_associations), absl::GetFlag(FLAGS_in_flight),
             static_cast<double>(answered_) / seconds);
      fflush(stdout);
      loop_->RequestStop();
    } else if (failed_ || (measure_until_ == 0 && now > deadline_)) {
      fprintf(stderr, "dpdk_load: no load running (associations failed or never came up)\n");
      exit_code_ = 1;
      loop_->RequestStop();
    }
  }
  bool Busy() const override { return false; }
  bool IsPriority(const void*) const override { return false; }
  int exit_code() const { return exit_code_; }

 private:
  void SendTo(uint16_t local_port, const std::vector<uint8_t>& message) {
    loop_->SendTo(target_, static_cast<uint16_t>(absl::GetFlag(FLAGS_udp_port)), local_port,
                  kAsapPort, rspd::protocol::kAsapPpid, message);
  }
  void StartLoad(IoLoop::Tick now) {
    for (int a = 0; a < absl::GetFlag(FLAGS_associations); ++a) {
      for (int k = 0; k < absl::GetFlag(FLAGS_in_flight); ++k) {
        SendTo(static_cast<uint16_t>(kFirstLocalPort + 1 + a), resolution_);
      }
    }
    measure_from_ = now + static_cast<IoLoop::Tick>(absl::GetFlag(FLAGS_warmup_seconds) * 1000);
    measure_until_ = measure_from_ + static_cast<IoLoop::Tick>(absl::GetFlag(FLAGS_seconds) * 1000);
  }

  IoLoop* loop_;
  rspd::protocol::IpAddress target_;
  std::vector<uint8_t> resolution_;
  std::vector<std::vector<uint8_t>> registrations_;
  size_t registered_ = 0;
  bool started_ = false;
  bool failed_ = false;
  IoLoop::Tick deadline_ = 0;
  IoLoop::Tick measure_from_ = 0;
  IoLoop::Tick measure_until_ = 0;
  uint64_t answered_ = 0;
  int exit_code_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::optional<rspd::protocol::IpAddress> target =
      rspd::protocol::IpAddress::Parse(absl::GetFlag(FLAGS_target));
  absl::StatusOr<rspd::control::DpdkAddress> self =
      rspd::control::ParseDpdkAddress(absl::GetFlag(FLAGS_dpdk_address));
  if (!target || !self.ok() || self->prefix_length < 0) {
    fprintf(stderr, "dpdk_load: --target=ADDRESS and --dpdk_address=ADDRESS/PREFIX are needed\n");
    return 2;
  }
  rspd::dataplane::DpdkOptions options;
  options.eal_args = absl::StrSplit(absl::GetFlag(FLAGS_dpdk_eal_args), ' ', absl::SkipEmpty());
  options.encapsulation_port = static_cast<uint16_t>(absl::GetFlag(FLAGS_udp_port));
  options.ports = {{{{self->ip, self->prefix_length}}, std::nullopt, std::nullopt}};
  absl::StatusOr<std::unique_ptr<rspd::dataplane::DpdkPortIo>> io =
      rspd::dataplane::DpdkPortIo::Open(options);
  if (!io.ok()) {
    fprintf(stderr, "dpdk_load: %s\n", std::string(io.status().message()).c_str());
    return 1;
  }
  IoLoop::Options loop_options;
  loop_options.max_idle_sleep_us = 0;  // a generator: never nap
  IoLoop loop(std::move(*io), loop_options);
  Load load(&loop, *target, self->ip);
  loop.set_application(&load);
  loop.Run();
  return load.exit_code();
}
