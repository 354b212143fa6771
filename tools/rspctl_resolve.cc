// `rspctl resolve`: ask the registrar which PEs serve a pool (RFC 5352 §3.3)
// and print them, one per line (or one JSON object per PE with --json):
//   pe_id=0x00000001 home=0x0000002a sctp:10.0.0.1:7000,[2001:db8::1]:7000 policy=...
// Exit status 1 for an unknown pool or an unreachable registrar.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/asap_session.h"
#include "protocol/address.h"
#include "protocol/describe.h"
#include "protocol/pool_element_codec.h"
#include "protocol/types.h"
#include "tools/rspctl_commands.h"
#include "tools/rspctl_flags.h"
#include "tools/rspctl_print.h"

ABSL_FLAG(int64_t, items, 0,
          "resolve: how many PEs to ask for, 1 to 128 (0: the registrar's default)");

namespace rspd::tools {
namespace {

int RunResolve(const std::vector<std::string>& /*args*/) {
  constexpr absl::string_view kCommand = "resolve";
  const std::string pool = absl::GetFlag(FLAGS_pool);
  if (absl::Status s = CheckPoolFlag(pool); !s.ok()) return UsageError(kCommand, s);
  // The registrar answers at most protocol::kMaxResolutionItems PEs.
  const int64_t items = absl::GetFlag(FLAGS_items);
  if (items < 0 || items > static_cast<int64_t>(protocol::kMaxResolutionItems)) {
    return UsageError(kCommand, absl::InvalidArgumentError(
                                    absl::StrCat("--items must be 0 (the registrar's default) to ",
                                                 protocol::kMaxResolutionItems, "; got ", items)));
  }
  absl::StatusOr<client::RegistrarAddress> registrar = RegistrarFromFlags();
  if (!registrar.ok()) return UsageError(kCommand, registrar.status());
  auto session = client::AsapSession::Connect(*registrar, absl::Seconds(5));
  if (!session.ok()) {
    fprintf(stderr, "rspctl resolve: %s\n", std::string(session.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<client::Resolution> resolution =
      (*session)->Resolve(pool, static_cast<uint32_t>(items), absl::Seconds(5));
  if (!resolution.ok()) {
    fprintf(stderr, "rspctl resolve: %s\n", std::string(resolution.status().message()).c_str());
    return 1;
  }
  const bool json = absl::GetFlag(FLAGS_json);
  for (const protocol::PoolElement& e : resolution->elements) PrintPoolElement(pool, e, json);
  return 0;
}

}  // namespace

const Command kResolveCommand = {
    "resolve", "print the PEs the registrar selects for --pool ([--items N] [--json])", RunResolve};

}  // namespace rspd::tools
