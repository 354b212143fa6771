#include "control/security_policy.h"

#include "gtest/gtest.h"

namespace rspd::control {
namespace {

TEST(GlobMatchTest, MatchesWholeNamesWithStarsAndQuestionMarks) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("echo", "echo"));
  EXPECT_FALSE(GlobMatch("echo", "echo2"));
  EXPECT_FALSE(GlobMatch("echo", "ech"));
  EXPECT_TRUE(GlobMatch("echo*", "echo-7"));
  EXPECT_TRUE(GlobMatch("pr?.example", "pr1.example"));
  EXPECT_FALSE(GlobMatch("pr?.example", "pr12.example"));
  EXPECT_TRUE(GlobMatch("*.example", "a.b.example"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXbYbZ"));
  EXPECT_TRUE(GlobMatch(absl::string_view("p\0*", 3), absl::string_view("p\0q", 3)));
  // Backtracking stays linear: a long name against many stars.
  EXPECT_FALSE(GlobMatch(std::string(30, '*') + "b", std::string(100000, 'a')));
}

TEST(SecurityPolicyTest, RulesDecideWhoMayDoWhat) {
  auto policy = SecurityPolicy::Parse(R"(# policy
register echo* pe-echo-* pe1.example   # echo pools
register db pe-db
peer pr?.example
takeover pr1.example
report pu-* pe-*
monitor ops.example
)",
                                      "policy");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->MayRegister("pe-echo-3", "echo"));
  EXPECT_TRUE(policy->MayRegister("pe1.example", "echo-fast"));
  EXPECT_FALSE(policy->MayRegister("pe-echo-3", "db"));
  EXPECT_TRUE(policy->MayRegister("pe-db", "db"));
  EXPECT_FALSE(policy->MayRegister("pe-db", "db2"));
  EXPECT_FALSE(policy->MayRegister("", "echo"));
  EXPECT_TRUE(policy->MayPeer("pr2.example"));
  EXPECT_FALSE(policy->MayPeer("pe1.example"));
  EXPECT_TRUE(policy->MayTakeOver("pr1.example"));
  EXPECT_FALSE(policy->MayTakeOver("pr2.example"));
  EXPECT_TRUE(policy->MayReport("pu-9"));
  EXPECT_FALSE(policy->MayReport("pr1.example"));
  EXPECT_FALSE(policy->MayReport(""));
  EXPECT_TRUE(policy->MayMonitor("ops.example"));
  EXPECT_FALSE(policy->MayMonitor("pr1.example"));
  EXPECT_EQ(policy->description(), "6 rules from policy");
}

TEST(SecurityPolicyTest, WithoutAFileEveryAuthenticatedIdentityMayAndNobodyElse) {
  const SecurityPolicy open = SecurityPolicy::AllowAuthenticated();
  EXPECT_TRUE(open.MayRegister("anyone", "any pool"));
  EXPECT_TRUE(open.MayPeer("anyone"));
  EXPECT_TRUE(open.MayTakeOver("anyone"));
  EXPECT_TRUE(open.MayReport("anyone"));
  EXPECT_TRUE(open.MayMonitor("anyone"));
  EXPECT_FALSE(open.MayRegister("", "any pool"));
  EXPECT_FALSE(open.MayPeer(""));
  // An empty file allows nothing.
  auto closed = SecurityPolicy::Parse("# nothing\n", "empty");
  ASSERT_TRUE(closed.ok());
  EXPECT_FALSE(closed->MayRegister("anyone", "p"));
  EXPECT_FALSE(closed->MayPeer("anyone"));
}

TEST(SecurityPolicyTest, ErrorsNameTheLineAndWhatIsWrong) {
  auto error = [](absl::string_view text) {
    auto policy = SecurityPolicy::Parse(text, "p.conf");
    return policy.ok() ? std::string("ok") : std::string(policy.status().message());
  };
  EXPECT_EQ(error("peer a\nregister echo\n"),
            "p.conf:2: expected \"register POOL-PATTERN IDENTITY-PATTERN...\"");
  EXPECT_EQ(error("takeover\n"), "p.conf:1: expected \"takeover IDENTITY-PATTERN...\"");
  EXPECT_EQ(error("\n\nallow all\n"),
            "p.conf:3: unknown rule \"allow\"; allowed: register, peer, takeover, report, monitor");
  EXPECT_EQ(SecurityPolicy::Load("/nonexistent/policy").status().message(),
            "policy file /nonexistent/policy: cannot be read");
}

}  // namespace
}  // namespace rspd::control
