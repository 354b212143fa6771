// `rspctl unreachable`: report a PE as unreachable to the registrar
// (ASAP_ENDPOINT_UNREACHABLE, RFC 5352 §3.5), as a PU does after a failed
// contact.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "client/asap_session.h"
#include "tools/rspctl_commands.h"
#include "tools/rspctl_flags.h"

ABSL_FLAG(int64_t, unreachable_pe_id, 0,
          "unreachable: the PE identifier to report, 1 to 4294967295");

namespace rspd::tools {
namespace {

int RunUnreachable(const std::vector<std::string>& /*args*/) {
  constexpr absl::string_view kCommand = "unreachable";
  const std::string pool = absl::GetFlag(FLAGS_pool);
  if (absl::Status s = CheckPoolFlag(pool); !s.ok()) return UsageError(kCommand, s);
  const int64_t id = absl::GetFlag(FLAGS_unreachable_pe_id);
  if (absl::Status s = CheckRange("--unreachable_pe_id", id, 1, kMaxUint32); !s.ok()) {
    return UsageError(kCommand, s);
  }
  const uint32_t pe_id = static_cast<uint32_t>(id);
  auto registrar = RegistrarFromFlags();
  if (!registrar.ok()) return UsageError(kCommand, registrar.status());
  auto session = client::AsapSession::Connect(*registrar, absl::Seconds(5));
  if (!session.ok()) {
    fprintf(stderr, "rspctl unreachable: %s\n", std::string(session.status().message()).c_str());
    return 1;
  }
  absl::Status status = (*session)->ReportUnreachable(pool, pe_id);
  if (!status.ok()) {
    fprintf(stderr, "rspctl unreachable: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  // The report needs no answer; a resolution afterwards proves it was
  // delivered (SCTP delivers in order on the association).
  (void)(*session)->Resolve(pool, 1, absl::Seconds(5));
  printf("reported pe_id=0x%08x in pool %s as unreachable\n", pe_id, pool.c_str());
  return 0;
}

}  // namespace

const Command kUnreachableCommand = {
    "unreachable", "report a PE as unreachable (--pool, --unreachable_pe_id)", RunUnreachable};

}  // namespace rspd::tools
