#include "control/config_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

// Flags named like rspd's (tools/rspd_main.cc): the file's keys are flag names.
ABSL_FLAG(int64_t, max_pools, 100000, "test");
ABSL_FLAG(int64_t, max_pool_elements, 2000000, "test");
ABSL_FLAG(int64_t, asap_port, 3863, "test");
ABSL_FLAG(int64_t, dpdk_rx_queues, 1, "test");
ABSL_FLAG(bool, print_stats, true, "test");
ABSL_FLAG(std::string, tls_certificate, "", "test");
ABSL_FLAG(std::string, tls_private_key, "", "test");
ABSL_FLAG(absl::Duration, keep_alive_interval, absl::Seconds(5), "test");
ABSL_FLAG(std::vector<std::string>, enrp_peers, {}, "test");
// Known to absl, but not a key a file may hold.
ABSL_FLAG(std::string, config, "", "test");

namespace rspd::control {
namespace {

const std::vector<std::string> kAllowed = {
    "max_pools",       "max_pool_elements", "asap_port",           "dpdk_rx_queues", "print_stats",
    "tls_certificate", "tls_private_key",   "keep_alive_interval", "enrp_peers",
};

class ConfigFileTest : public testing::Test {
 protected:
  // A real file in the test's temporary directory.
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = absl::StrCat(testing::TempDir(), "/", name);
    std::ofstream(path) << text;
    return path;
  }

  void TearDown() override { RestoreFlags(saved_); }

  // Each test starts from the defaults.
  const std::vector<std::pair<std::string, std::string>> saved_ = SaveFlags(kAllowed);
};

TEST_F(ConfigFileTest, AppliesKeysTablesAsPrefixesAndEveryValueType) {
  const std::string path = Write("good.toml", R"(# rspd
max_pools = 5000
print_stats = false
keep_alive_interval = "500ms"
enrp_peers = ["10.0.0.2:9899", "10.0.0.3:9899"]

[tls]
certificate = "/etc/rspd/cert.pem"

[dpdk]
rx_queues = 2
)");
  absl::StatusOr<ConfigFile> file = ConfigFile::Read(path, kAllowed);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(file->Apply().ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_max_pools), 5000);
  EXPECT_FALSE(absl::GetFlag(FLAGS_print_stats));
  EXPECT_EQ(absl::GetFlag(FLAGS_keep_alive_interval), absl::Milliseconds(500));
  EXPECT_EQ(absl::GetFlag(FLAGS_enrp_peers),
            (std::vector<std::string>{"10.0.0.2:9899", "10.0.0.3:9899"}));
  EXPECT_EQ(absl::GetFlag(FLAGS_tls_certificate), "/etc/rspd/cert.pem");
  EXPECT_EQ(absl::GetFlag(FLAGS_dpdk_rx_queues), 2);
  // Where each came from.
  ASSERT_NE(file->Find("tls_certificate"), nullptr);
  EXPECT_EQ(file->Find("tls_certificate")->where(), path + ":8");
  EXPECT_EQ(file->Find("tls_certificate")->key, "tls.certificate");
  EXPECT_EQ(file->Find("max_pools")->where(), path + ":2");
  EXPECT_EQ(file->Find("asap_port"), nullptr);
}

TEST_F(ConfigFileTest, DottedKeysAreTablesToo) {
  absl::StatusOr<ConfigFile> file =
      ConfigFile::Parse("tls.private_key = \"k.pem\"\n", "dotted.toml", kAllowed);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(file->Apply().ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_tls_private_key), "k.pem");
}

TEST_F(ConfigFileTest, UnknownKeyNamesFileLineAndTheClosestKey) {
  const std::string path = Write("typo.toml", "max_pools = 1\n\nmax_pool = 12\n");
  absl::StatusOr<ConfigFile> file = ConfigFile::Read(path, kAllowed);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(std::string(file.status().message()),
            absl::StrCat("unknown key 'max_pool' at ", path, ":3; did you mean 'max_pools'?"));
  // Nothing was applied.
  EXPECT_EQ(absl::GetFlag(FLAGS_max_pools), 100000);
}

TEST_F(ConfigFileTest, UnknownKeyInATableSuggestsInTheTablesSpelling) {
  absl::StatusOr<ConfigFile> file =
      ConfigFile::Parse("[tls]\ncertficate = \"c.pem\"\n", "t.toml", kAllowed);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(std::string(file.status().message()),
            "unknown key 'tls.certficate' at t.toml:2; did you mean 'tls.certificate'?");
}

// TOML puts every key after [tls] into that table, top-level names too.
TEST_F(ConfigFileTest, ATopLevelKeyAfterATableSaysWhereItBelongs) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Parse(
      "[tls]\ncertificate = \"c.pem\"\n\nmax_pools = 3\n", "after.toml", kAllowed);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(std::string(file.status().message()),
            "unknown key 'tls.max_pools' at after.toml:4: 'max_pools' is a top-level key, and "
            "TOML puts the keys after [tls] into that table: move it above the first [table] "
            "line");
}

TEST_F(ConfigFileTest, UnknownKeyFarFromEveryNameSaysWhatKeysAre) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Parse("colour = 3\n", "c.toml", kAllowed);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(std::string(file.status().message()),
            "unknown key 'colour' at c.toml:1: the keys are the program's flag names (--helpfull)");
}

TEST_F(ConfigFileTest, UnknownTableIsRefused) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Parse("\n[ssl]\nkey = 1\n", "u.toml", kAllowed);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(std::string(file.status().message()),
            "unknown table '[ssl]' at u.toml:2: no flag starts with 'ssl_'");
}

TEST_F(ConfigFileTest, FlagsOutsideTheAllowedListAreRefused) {
  // --config is absl's to know but no key of a file.
  absl::StatusOr<ConfigFile> file = ConfigFile::Parse("config = \"x.toml\"\n", "x.toml", kAllowed);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(std::string(file.status().message()),
            "key 'config' at x.toml:1 cannot be set in a configuration file, only on the command "
            "line");
}

TEST_F(ConfigFileTest, WrongTypesNameKeyLineAndWhatIsAllowed) {
  const std::string path = Write("types.toml", R"(asap_port = 1
print_stats = "yes"
max_pools = "many"
keep_alive_interval = 5
enrp_peers = ["10.0.0.2:9899", 7]
tls_certificate = 3
dpdk_rx_queues = 1.5
)");
  absl::StatusOr<ConfigFile> file = ConfigFile::Read(path, kAllowed);
  ASSERT_FALSE(file.ok());
  // One line per problem, in the file's order.
  std::vector<std::string> expected = {
      absl::StrCat("print_stats at ", path, ":2 must be true or false, got a string"),
      absl::StrCat("max_pools at ", path, ":3 must be an integer, got a string"),
      absl::StrCat("keep_alive_interval at ", path,
                   ":4 must be a duration string such as \"5s\" or \"500ms\", got an "
                   "integer"),
      absl::StrCat("enrp_peers at ", path,
                   ":5 must be an array of strings, got an array with an integer"),
      absl::StrCat("tls_certificate at ", path, ":6 must be a string, got an integer"),
      absl::StrCat("dpdk_rx_queues at ", path, ":7 must be an integer, got a float"),
  };
  EXPECT_EQ(std::string(file.status().message()), absl::StrJoin(expected, "\n"));
}

TEST_F(ConfigFileTest, AListElementWithACommaIsRefused) {
  absl::StatusOr<ConfigFile> file =
      ConfigFile::Parse("enrp_peers = [\"a:1,b:2\"]\n", "l.toml", kAllowed);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(std::string(file.status().message()),
            "enrp_peers at l.toml:1 must be an array of strings, got 'a:1,b:2' (an element with "
            "a comma)");
}

TEST_F(ConfigFileTest, AKeySetTwiceThroughATableIsRefused) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Parse(
      "tls_certificate = \"a.pem\"\n[tls]\ncertificate = \"b.pem\"\n", "d.toml", kAllowed);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(std::string(file.status().message()),
            "tls.certificate at d.toml:3 is set already, as tls_certificate at d.toml:1");
}

TEST_F(ConfigFileTest, AValueTheFlagRefusesGivesTheFlagsReasonWithKeyAndLine) {
  const std::string path =
      Write("refused.toml", "max_pools = 7\nkeep_alive_interval = \"5 sec\"\n");
  absl::StatusOr<ConfigFile> file = ConfigFile::Read(path, kAllowed);
  ASSERT_TRUE(file.ok()) << file.status();
  absl::Status status = file->Apply();
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(
      absl::StartsWith(status.message(), absl::StrCat("keep_alive_interval at ", path, ":2: ")))
      << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "5 sec")) << status;
  EXPECT_EQ(absl::GetFlag(FLAGS_max_pools), 7);  // the others still applied
}

TEST_F(ConfigFileTest, SyntaxErrorGivesTomlsDescriptionWithLineAndColumn) {
  const std::string path = Write("syntax.toml", "max_pools = 1\nasap_port = = 3\n");
  absl::StatusOr<ConfigFile> file = ConfigFile::Read(path, kAllowed);
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(absl::StartsWith(file.status().message(), absl::StrCat(path, ":2:")))
      << file.status();
  EXPECT_TRUE(absl::StrContains(file.status().message(), "TOML syntax error: ")) << file.status();
}

TEST_F(ConfigFileTest, AMissingFileIsNamed) {
  const std::string path = absl::StrCat(testing::TempDir(), "/absent.toml");
  absl::StatusOr<ConfigFile> file = ConfigFile::Read(path, kAllowed);
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(file.status().message(), path)) << file.status();
}

TEST_F(ConfigFileTest, ADirectoryIsNoFile) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Read(testing::TempDir(), kAllowed);
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(file.status().message(), "not a regular file")) << file.status();
}

// A FIFO (nobody writing) and a device behind a symlink would block or feed
// the reader for ever: refused at once, as is a file past the size cap.
TEST_F(ConfigFileTest, FifosDevicesAndHugeFilesAreRefusedWithoutReading) {
  const std::string fifo = absl::StrCat(testing::TempDir(), "/fifo.toml");
  unlink(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  absl::StatusOr<ConfigFile> file = ConfigFile::Read(fifo, kAllowed);
  EXPECT_TRUE(absl::StrContains(file.status().message(), "not a regular file")) << file.status();

  const std::string zero = absl::StrCat(testing::TempDir(), "/zero.toml");
  unlink(zero.c_str());
  ASSERT_EQ(symlink("/dev/zero", zero.c_str()), 0);
  file = ConfigFile::Read(zero, kAllowed);
  EXPECT_TRUE(absl::StrContains(file.status().message(), "not a regular file")) << file.status();

  const std::string huge = Write("huge.toml", std::string(ConfigFile::kMaxFileBytes + 1, '#'));
  file = ConfigFile::Read(huge, kAllowed);
  EXPECT_TRUE(absl::StrContains(file.status().message(), "larger than")) << file.status();
}

TEST_F(ConfigFileTest, AVeryLongUnknownKeyIsShortenedAndGetsNoSuggestion) {
  const std::string path = Write("long.toml", std::string(100000, 'a') + " = 1\n");
  absl::StatusOr<ConfigFile> file = ConfigFile::Read(path, kAllowed);
  ASSERT_FALSE(file.ok());
  EXPECT_LT(file.status().message().size(), 1000u);
  EXPECT_TRUE(absl::StrContains(file.status().message(), "...' at ")) << file.status();
}

TEST_F(ConfigFileTest, AnnotatesLaterErrorsWithWhereTheKeyWasSet) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Parse(
      "max_pools = 0\nmax_pool_elements = 1\nasap_port = 9\n", "a.toml", kAllowed);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->Annotate("--max_pools must be in [1, 16777216], got 0"),
            "--max_pools must be in [1, 16777216], got 0 (set at a.toml:1)");
  // A whole word only: max_pools is not max_pool_elements.
  EXPECT_EQ(file->Annotate("max_pool_elements must be at least 4"),
            "max_pool_elements must be at least 4 (set at a.toml:2)");
  EXPECT_EQ(file->Annotate("max_pool_elements and max_pools must be at least the shard count"),
            "max_pool_elements and max_pools must be at least the shard count "
            "(max_pool_elements set at a.toml:2, max_pools set at a.toml:1)");
  EXPECT_EQ(file->Annotate("bind_address: not an address"), "bind_address: not an address");
  EXPECT_EQ(file->Annotate(absl::InvalidArgumentError("asap_port must be non-zero")),
            absl::InvalidArgumentError("asap_port must be non-zero (set at a.toml:3)"));
  // The command line set it afterwards: no longer the file's.
  file->Forget("asap_port");
  EXPECT_EQ(file->Annotate("asap_port must be non-zero"), "asap_port must be non-zero");
}

// The precedence rule: the file first, then the command line over it.
TEST_F(ConfigFileTest, TheCommandLineWinsOverTheFile) {
  const std::string path =
      Write("precedence.toml", "asap_port = 4001\nmax_pools = 5\nprint_stats = true\n");
  absl::StatusOr<ConfigFile> file = ConfigFile::Read(path, kAllowed);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(file->Apply().ok());
  const std::vector<std::string> args = {"--asap_port=4002",
                                         "--noprint_stats",
                                         "-max_pool_elements",
                                         "77",
                                         "--config=x.toml",
                                         "positional",
                                         "--",
                                         "--max_pools=9"};
  ASSERT_TRUE(ApplyCommandLine(args, kAllowed).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_asap_port), 4002);
  EXPECT_FALSE(absl::GetFlag(FLAGS_print_stats));
  EXPECT_EQ(absl::GetFlag(FLAGS_max_pool_elements), 77);
  EXPECT_EQ(absl::GetFlag(FLAGS_max_pools), 5);  // after "--": not a flag
  EXPECT_EQ(absl::GetFlag(FLAGS_config), "");    // not an allowed flag
  EXPECT_EQ(CommandLineFlagNames(args),
            (std::vector<std::string>{"asap_port", "print_stats", "max_pool_elements", "config"}));
}

TEST_F(ConfigFileTest, ACommandLineValueTheFlagRefusesIsNamed) {
  absl::Status status = ApplyCommandLine({"--asap_port=many"}, kAllowed);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(absl::StartsWith(status.message(), "--asap_port: ")) << status;
}

// A reload: back to the defaults, the file again, the command line again;
// a key taken out of the file returns to its default.
TEST_F(ConfigFileTest, ReloadReadsTheFileAgainUnderTheSameCommandLine) {
  const std::string path = Write("reload.toml", "max_pools = 5\nasap_port = 4001\n");
  ConfigLoader loader(path, {"--asap_port=4002"}, kAllowed);
  ASSERT_TRUE(loader.LoadFile().ok());
  ASSERT_TRUE(ApplyCommandLine({"--asap_port=4002"}, kAllowed).ok());  // absl's parse
  loader.CommandLineParsed();
  EXPECT_EQ(absl::GetFlag(FLAGS_max_pools), 5);
  EXPECT_EQ(absl::GetFlag(FLAGS_asap_port), 4002);
  EXPECT_EQ(loader.file().Find("asap_port"), nullptr);  // the command line's

  Write("reload.toml", "\nmax_pool_elements = 9\nasap_port = 4003\n");
  int builds = 0;
  ASSERT_TRUE(loader
                  .Reload([&] {
                    ++builds;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(builds, 1);
  EXPECT_EQ(absl::GetFlag(FLAGS_max_pools), 100000);
  EXPECT_EQ(absl::GetFlag(FLAGS_max_pool_elements), 9);
  EXPECT_EQ(absl::GetFlag(FLAGS_asap_port), 4002);
  ASSERT_NE(loader.file().Find("max_pool_elements"), nullptr);
  EXPECT_EQ(loader.file().Find("max_pool_elements")->line, 2);
  EXPECT_EQ(loader.file().Find("max_pools"), nullptr);
}

// A reload that fails (a bad file, or a configuration its builder refuses)
// leaves the flags and the origins of the running configuration.
TEST_F(ConfigFileTest, AFailedReloadLeavesFlagsAndOriginsAsTheyWere) {
  const std::string path = Write("failed.toml", "max_pools = 5\n");
  ConfigLoader loader(path, {"--asap_port=4002"}, kAllowed);
  ASSERT_TRUE(loader.LoadFile().ok());
  ASSERT_TRUE(ApplyCommandLine({"--asap_port=4002"}, kAllowed).ok());
  loader.CommandLineParsed();
  auto build = [] {
    return absl::GetFlag(FLAGS_max_pools) > 0
               ? absl::OkStatus()
               : absl::InvalidArgumentError("max_pools must be in [1, 16777216], got 0");
  };

  Write("failed.toml", "max_pools = 6\nmax_pool = 12\n");
  absl::Status status = loader.Reload(build);
  EXPECT_EQ(std::string(status.message()),
            absl::StrCat("unknown key 'max_pool' at ", path, ":2; did you mean 'max_pools'?"));
  Write("failed.toml", "max_pool_elements = 6\nmax_pools = 0\n");
  status = loader.Reload(build);
  EXPECT_EQ(std::string(loader.file().Annotate(status.message())),
            absl::StrCat("max_pools must be in [1, 16777216], got 0 (set at ", path, ":1)"));
  EXPECT_EQ(absl::GetFlag(FLAGS_max_pools), 5);
  EXPECT_EQ(absl::GetFlag(FLAGS_max_pool_elements), 2000000);
  EXPECT_EQ(absl::GetFlag(FLAGS_asap_port), 4002);
}

TEST_F(ConfigFileTest, RestoreFlagsUndoesAFailedReload) {
  absl::SetFlag(&FLAGS_max_pools, 5);
  absl::SetFlag(&FLAGS_enrp_peers, {"10.0.0.2:9899", "10.0.0.3:9899"});
  const auto saved = SaveFlags(kAllowed);
  ASSERT_TRUE(ResetFlagsToDefaults(kAllowed).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_max_pools), 100000);
  EXPECT_TRUE(absl::GetFlag(FLAGS_enrp_peers).empty());
  RestoreFlags(saved);
  EXPECT_EQ(absl::GetFlag(FLAGS_max_pools), 5);
  EXPECT_EQ(absl::GetFlag(FLAGS_enrp_peers),
            (std::vector<std::string>{"10.0.0.2:9899", "10.0.0.3:9899"}));
}

TEST(ClosestNameTest, SuggestsOnlyLikelyTypos) {
  EXPECT_EQ(ClosestName("max_pool", kAllowed), "max_pools");
  EXPECT_EQ(ClosestName("asap-port", kAllowed), "asap_port");
  EXPECT_EQ(ClosestName("keep_alive_intreval", kAllowed), "keep_alive_interval");
  EXPECT_EQ(ClosestName("colour", kAllowed), "");
}

}  // namespace
}  // namespace rspd::control
