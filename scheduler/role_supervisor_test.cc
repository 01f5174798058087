// Restarts with back-off and a limit, over real child processes (/bin/sh as the "binary").
#include "scheduler/role_supervisor.h"

#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/str_split.h"
#include "core/base/file_util.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(RoleSupervisorTest, ADeadRoleIsRestartedWithItsArgumentsUpToTheLimit) {
  const std::string dir = testing::TestTempDir();
  ASSERT_TRUE(MakeDirectories(dir + "/logs").ok());
  RoleSet roles(dir, "/bin/sh");
  const std::vector<std::string> dies = {"-c", "echo started $0; exit 3", "--listen"};
  auto dying = roles.Start("dying", "dying", dies);
  ASSERT_TRUE(dying.ok());
  auto staying = roles.Start("staying", "staying", {"-c", "sleep 30"});
  ASSERT_TRUE(staying.ok());
  const pid_t staying_pid = (*staying)->pid();
  RoleSupervisor::Options options;
  options.max_restarts = 2;
  options.first_backoff = std::chrono::milliseconds(10);
  RoleSupervisor supervisor(options);
  supervisor.Watch(&*dying, "dying", "dying", dies);
  supervisor.Watch(&*staying, "staying", "staying", {"-c", "sleep 30"});
  int restarted = 0;  // as Check reports them
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    restarted += supervisor.Check(roles, std::chrono::steady_clock::now());
    if (supervisor.restarts() == 2 && !(*dying)->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // A few more checks: the limit holds.
  for (int i = 0; i < 20; ++i) {
    restarted += supervisor.Check(roles, std::chrono::steady_clock::now() + std::chrono::hours(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(supervisor.restarts(), 2);
  EXPECT_EQ(restarted, 2);
  auto log = ReadFileToString(dir + "/logs/dying.log");
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(Count(*log, "started"), 3) << *log;  // the first start and two restarts, appended
  EXPECT_TRUE((*staying)->Running());
  EXPECT_EQ((*staying)->pid(), staying_pid);
  roles.StopAll();
}

TEST(RoleSupervisorTest, TheListenAddressIsPinned) {
  const auto args = WithListenAddress({"rollout-worker", "--listen", "127.0.0.1:0", "--model", "m"},
                                      "127.0.0.1:4321");
  EXPECT_EQ(args, (std::vector<std::string>{"rollout-worker", "--listen", "127.0.0.1:4321",
                                            "--model", "m"}));
}

}  // namespace
}  // namespace seamless
