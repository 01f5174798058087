#include "core/base/child_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "core/base/file_util.h"

namespace seamless {
namespace {

std::string Slurp(const std::string& path) {
  auto text = ReadFileToString(path);
  return text.ok() ? *text : "";
}

TEST(ChildProcessTest, StdoutPipeAndExitCode) {
  auto child = ChildProcess::Start(
      {"/bin/sh", "-c", "echo starting; echo listening on 127.0.0.1:4321; exit 3"});
  ASSERT_TRUE(child.ok()) << child.status();
  auto port = child->WaitForListeningPort(std::chrono::seconds(10));
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(*port, 4321);
  EXPECT_EQ(child->Wait(), 3);
  EXPECT_EQ(child->exit_code(), 3);
  EXPECT_EQ(child->term_signal(), 0);
  EXPECT_FALSE(child->Running());
  // The pipe is at its end: no line comes any more.
  EXPECT_FALSE(child->WaitForLine("anything", std::chrono::milliseconds(100)).ok());
}

TEST(ChildProcessTest, OutputFileAppendedWithStderrAndEnvironment) {
  const std::string log = ::testing::TempDir() + "/child_process_test.log";
  std::remove(log.c_str());
  { std::ofstream(log) << "earlier line\n"; }
  ChildProcess::Options options;
  options.output_path = log;
  options.stderr_to_output = true;
  options.env = {"SEAMLESS_CHILD_TEST=hello"};
  auto child = ChildProcess::Start({"/bin/sh", "-c", "echo out $SEAMLESS_CHILD_TEST; echo err >&2"},
                                   options);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(child->Wait(), 0);
  EXPECT_EQ(Slurp(log), "earlier line\nout hello\nerr\n");
  // truncate_output empties the file first; stderr stays this process's.
  options.truncate_output = true;
  options.stderr_to_output = false;
  child = ChildProcess::Start({"/bin/sh", "-c", "echo again"}, options);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(child->Wait(), 0);
  EXPECT_EQ(Slurp(log), "again\n");
  // Without a pipe there are no lines to wait for.
  EXPECT_FALSE(child->WaitForLine("again", std::chrono::milliseconds(10)).ok());
}

TEST(ChildProcessTest, UnwritableOutputAndMissingBinary) {
  ChildProcess::Options options;
  options.output_path = "/nonexistent-dir/x.log";
  auto refused = ChildProcess::Start({"/bin/true"}, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("cannot write /nonexistent-dir/x.log"),
            std::string::npos);
  auto missing = ChildProcess::Start({"/nonexistent-binary"});
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->Wait(), 127);
}

TEST(ChildProcessTest, SignalTerminateAndMemory) {
  auto child = ChildProcess::Start({"/bin/sleep", "30"});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE(child->Running());
  EXPECT_GT(child->pid(), 0);
  EXPECT_GT(child->ResidentBytes(), 0);
  EXPECT_GT(child->PeakResidentBytes(), 0);
  child->Signal(SIGKILL);
  EXPECT_EQ(child->Wait(), 128 + SIGKILL);
  EXPECT_EQ(child->term_signal(), SIGKILL);
  EXPECT_EQ(child->ResidentBytes(), 0);
  EXPECT_GT(child->PeakResidentBytes(), 0);  // the last value read while it ran

  // SIGTERM first; one that ignores it is killed after the grace period.
  // (Short sleeps, so that no grandchild outlives the test holding its output open.)
  auto stubborn = ChildProcess::Start(
      {"/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"});
  ASSERT_TRUE(stubborn.ok()) << stubborn.status();
  ASSERT_TRUE(stubborn->WaitForLine("ready", std::chrono::seconds(10)).ok());
  stubborn->Terminate(std::chrono::milliseconds(200));
  EXPECT_FALSE(stubborn->Running());
  EXPECT_EQ(stubborn->exit_code(), 128 + SIGKILL);
  auto polite = ChildProcess::Start({"/bin/sleep", "30"});
  ASSERT_TRUE(polite.ok()) << polite.status();
  polite->Terminate(std::chrono::seconds(10));
  EXPECT_EQ(polite->exit_code(), 128 + SIGTERM);
  EXPECT_EQ(polite->term_signal(), SIGTERM);
}

TEST(ChildProcessTest, MovedFromIsInertAndDestructorKills) {
  auto child = ChildProcess::Start({"/bin/sleep", "30"});
  ASSERT_TRUE(child.ok()) << child.status();
  const pid_t pid = child->pid();
  {
    ChildProcess owner = std::move(*child);
    EXPECT_FALSE(child->Running());
    EXPECT_EQ(child->Wait(), -1);
    EXPECT_TRUE(owner.Running());
  }
  EXPECT_NE(kill(pid, 0), 0);  // killed and reaped
}

// A launcher killed with SIGKILL (no destructor runs) takes its die_with_parent children
// with it. This test process adopts the orphan (a subreaper) to see how it ended.
TEST(ChildProcessTest, DieWithParentChildrenGoWhenTheLauncherIsKilled) {
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t launcher = fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    close(fds[0]);
    ChildProcess::Options options;
    options.die_with_parent = true;
    auto child = ChildProcess::Start({"/bin/sleep", "60"}, options);
    const pid_t pid = child.ok() ? child->pid() : -1;
    if (write(fds[1], &pid, sizeof(pid)) != sizeof(pid)) _exit(1);
    pause();  // until killed
    _exit(0);
  }
  close(fds[1]);
  pid_t child = -1;
  ASSERT_EQ(read(fds[0], &child, sizeof(child)), ssize_t(sizeof(child)));
  close(fds[0]);
  ASSERT_GT(child, 0);
  ASSERT_EQ(kill(launcher, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(launcher, &status, 0), launcher);
  // The orphan is now this process's child: reap it. Had it survived, it would exit by itself
  // after its 60 s sleep, not by SIGKILL.
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

}  // namespace
}  // namespace seamless
