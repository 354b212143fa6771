// libFuzzer target for the ASAP/ENRP decoder (RFC 5354). The first input byte
// picks the protocol (even: ASAP, odd: ENRP); the rest is one message.
//
// Properties checked on every input:
//  - decoding never crashes, hangs or reads outside the input (ASan);
//  - a message that decodes re-encodes, the result decodes, and encoding that
//    again gives the same bytes (encoding normalizes ignored fields once);
//  - a rejected message yields an error report that itself decodes as
//    ASAP_ERROR / ENRP_ERROR carrying the reported cause;
//  - the text and JSON renderings accept whatever decodes.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "protocol/codec.h"
#include "protocol/describe.h"

namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "codec_fuzzer: property violated: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rspd::protocol;  // NOLINT
  if (size < 1) return 0;
  const Protocol protocol = data[0] % 2 == 0 ? Protocol::kAsap : Protocol::kEnrp;
  // An exact-size heap copy so that ASan catches any read past the end.
  std::vector<uint8_t> input(data + 1, data + size);
  static std::vector<uint8_t> first(70000), second(70000);

  Message message;
  DecodeError error;
  if (!DecodeMessage(protocol, input, &message, &error)) {
    Check(error.reason != nullptr && error.reason[0] != '\0', "rejection has a reason");
    Check(error.offset <= input.size(), "rejection offset inside the message");
    size_t n = EncodeErrorReport(protocol, error, 1, 2, absl::MakeSpan(first));
    Check(n > 0, "error report encodes");
    Message report;
    DecodeError report_error;
    Check(DecodeMessage(protocol, absl::MakeConstSpan(first.data(), n), &report, &report_error),
          "error report decodes");
    Check(report.has_error && !report.error_causes.empty(), "error report has a cause");
    Check(report.error_causes.front().code == error.cause, "error report keeps the cause");
    return 0;
  }
  (void)DescribeMessage(message);
  (void)MessageToJson(message);
  size_t n1 = EncodeMessage(message, absl::MakeSpan(first));
  Check(n1 > 0, "decoded message re-encodes");
  Message again;
  Check(DecodeMessage(protocol, absl::MakeConstSpan(first.data(), n1), &again, &error),
        "re-encoded message decodes");
  Check(again.type == message.type, "type survives the round trip");
  size_t n2 = EncodeMessage(again, absl::MakeSpan(second));
  Check(n1 == n2 && memcmp(first.data(), second.data(), n1) == 0, "encoding is idempotent");
  return 0;
}
