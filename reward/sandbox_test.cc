// The sandbox against hostile programs. Each attack must be contained (the run ends within
// its limits, nothing escapes or leaks) and the sandbox must still work afterwards.
#include "reward/sandbox.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"

namespace seamless {
namespace {

constexpr int kUidBase = 62000;  // apart from other test binaries that may run at once
constexpr int kSlots = 4;

// The argument of the detached sleep: built at run time so that no shell that merely
// mentions this source matches it.
std::string SleepToken() { return std::to_string(31) + ".4159"; }

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SandboxOptions options;
    options.uid_base = kUidBase;
    options.slots = kSlots;
    options.tmpfs_bytes = 16 << 20;
    auto sandbox = Sandbox::Create(options);
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    sandbox_ = std::move(*sandbox);
  }

  void TearDown() override {
    if (!sandbox_) return;
    // The service is still healthy after every attack, and nothing was left running.
    ProcessResult r = Py("print('still ok')");
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.stdout_data, "still ok\n");
    EXPECT_EQ(LeftoverProcesses(), 0);
  }

  ProcessResult Py(const std::string& code, double wall_seconds = 2,
                   const std::string& input = "") {
    SandboxRun run;
    run.argv = {"/usr/bin/python3", "-I", "/tmp/main.py"};
    run.files = {{"/tmp/main.py", code, false}};
    run.stdin_data = input;
    run.limits.wall_seconds = wall_seconds;
    run.limits.cpu_seconds = static_cast<int64_t>(wall_seconds) + 1;
    run.limits.address_space_bytes = 512 << 20;
    run.limits.processes = 16;
    run.limits.file_size_bytes = 8 << 20;
    run.limits.open_files = 64;
    run.limits.max_stdout_bytes = 1 << 20;
    auto result = sandbox_->Run(run);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : ProcessResult{};
  }

  // Processes still running as one of our sandbox uids (root) or carrying `token_`.
  int LeftoverProcesses() {
    for (int attempt = 0; attempt < 20; ++attempt) {
      int found = 0;
      DIR* proc = opendir("/proc");
      while (struct dirent* entry = readdir(proc)) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        std::ifstream status(std::string("/proc/") + entry->d_name + "/status");
        std::string line;
        while (std::getline(status, line)) {
          if (line.rfind("Uid:", 0) != 0) continue;
          std::istringstream fields(line.substr(4));
          int uid = -1;
          fields >> uid;
          if (geteuid() == 0 && uid >= kUidBase && uid < kUidBase + kSlots) {
            ++found;
            if (attempt == 19) {
              std::ifstream st(std::string("/proc/") + entry->d_name + "/status");
              std::string all((std::istreambuf_iterator<char>(st)), {});
              ADD_FAILURE() << "left running as uid " << uid << ": pid " << entry->d_name << "\n"
                            << all.substr(0, 300);
            }
          }
        }
        std::ifstream cmdline(std::string("/proc/") + entry->d_name + "/cmdline");
        std::string args((std::istreambuf_iterator<char>(cmdline)), {});
        if (args.find(SleepToken()) != std::string::npos) {
          ++found;
          if (attempt == 19) ADD_FAILURE() << "left running: pid " << entry->d_name << " " << args;
        }
      }
      closedir(proc);
      if (found == 0) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (attempt == 19) return found;
    }
    return 0;
  }

  std::unique_ptr<Sandbox> sandbox_;
};

TEST_F(SandboxTest, RunsProgramWithStdin) {
  ProcessResult r = Py("import sys\nprint(sys.stdin.read().upper())\nsys.exit(3)", 2, "abc");
  EXPECT_EQ(r.stdout_data, "ABC\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.timed_out);
}

TEST_F(SandboxTest, InfiniteLoopIsKilled) {
  ProcessResult r = Py("while True: pass", 1);
  EXPECT_TRUE(r.timed_out || r.exit_code == 128 + 24 || r.exit_code == 128 + 9);
  EXPECT_LT(r.wall_seconds, 8);  // killed near its limit, not left running
}

TEST_F(SandboxTest, SleepForeverIsKilledAtWallClock) {
  ProcessResult r = Py("import time\ntime.sleep(10**6)", 0.5);
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(r.wall_seconds, 8);  // killed near its limit, not left running
}

TEST_F(SandboxTest, ForkBombIsLimited) {
  ProcessResult r =
      Py("import os, time\n"
         "n = 0\n"
         "try:\n"
         "    while True:\n"
         "        if os.fork() == 0:\n"
         "            time.sleep(60)\n"
         "            os._exit(0)\n"
         "        n += 1\n"
         "except OSError as e:\n"
         "    print('stopped', n, flush=True)\n"
         "time.sleep(60)\n",
         1);
  EXPECT_NE(r.stdout_data.find("stopped"), std::string::npos) << r.stdout_data << r.stderr_data;
  if (r.stdout_data.find("stopped") != std::string::npos) {
    // 16 for the program, plus bwrap and the program itself within the +3 the sandbox adds.
    EXPECT_LE(std::atoi(r.stdout_data.substr(8).c_str()), 19);
  }
  EXPECT_TRUE(r.timed_out);
}

TEST_F(SandboxTest, ThreadBombIsLimited) {
  ProcessResult r =
      Py("import threading, time\n"
         "n = 0\n"
         "try:\n"
         "    while True:\n"
         "        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
         "        n += 1\n"
         "except RuntimeError as e:\n"
         "    print('stopped', n, flush=True)\n",
         2);
  EXPECT_NE(r.stdout_data.find("stopped"), std::string::npos) << r.stderr_data;
  EXPECT_LT(r.wall_seconds, 8);  // killed near its limit, not left running
}

TEST_F(SandboxTest, MemoryBombFails) {
  ProcessResult r = Py("x = bytearray(4 << 30)\nprint('allocated')", 2);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.stderr_data.find("MemoryError"), std::string::npos) << r.stderr_data;
  ProcessResult grow = Py("x = []\nwhile True: x.append(bytearray(1 << 20))", 5);
  EXPECT_NE(grow.exit_code, 0);
  EXPECT_FALSE(grow.timed_out);
}

TEST_F(SandboxTest, OutputFloodIsCutOff) {
  ProcessResult r = Py("import sys\nwhile True: sys.stdout.write('x' * 65536)", 5);
  EXPECT_TRUE(r.output_limit);
  EXPECT_LE(r.stdout_data.size(), size_t{1} << 20);
  EXPECT_LT(r.wall_seconds, 8);  // killed near its limit, not left running
  ProcessResult err = Py("import sys\nwhile True: sys.stderr.write('x' * 65536)", 5);
  EXPECT_TRUE(err.output_limit);
}

TEST_F(SandboxTest, DiskFillStopsAtTheCaps) {
  // One big file hits RLIMIT_FSIZE (SIGXFSZ is ignored so the write fails instead); many
  // files hit the size of the private tmpfs.
  ProcessResult r =
      Py("import signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
         "try:\n"
         "    with open('/tmp/big', 'wb') as f:\n"
         "        while True: f.write(b'x' * (1 << 20))\n"
         "except OSError as e: print('big', e.errno)\n"
         "i = 0\n"
         "try:\n"
         "    while True:\n"
         "        with open('/tmp/f%d' % i, 'wb') as f: f.write(b'x' * (4 << 20))\n"
         "        i += 1\n"
         "except OSError as e: print('many', e.errno, i)\n",
         5);
  EXPECT_NE(r.stdout_data.find("big 27"), std::string::npos) << r.stdout_data << r.stderr_data;
  EXPECT_NE(r.stdout_data.find("many 28"), std::string::npos) << r.stdout_data << r.stderr_data;
}

TEST_F(SandboxTest, CannotWriteOutsideItsWorkDir) {
  const std::string marker = "/tmp/seamless_sandbox_marker_" + std::to_string(getpid());
  ProcessResult r = Py(
      "import os\n"
      "for path in ['/usr/evil', '/evil', '/etc/evil', '/proc/evil', '/dev/evil', '/bin/evil']:\n"
      "    try:\n"
      "        open(path, 'w').write('x')\n"
      "        print('WROTE', path)\n"
      "    except OSError as e:\n"
      "        print('denied', path)\n"
      "open('" +
      marker +
      "', 'w').write('inside')\n"
      "print('tmp ok')\n");
  EXPECT_EQ(r.stdout_data.find("WROTE"), std::string::npos) << r.stdout_data;
  EXPECT_NE(r.stdout_data.find("tmp ok"), std::string::npos);
  // The sandbox's /tmp is its own tmpfs, not the host's.
  EXPECT_NE(access(marker.c_str(), F_OK), 0);
}

TEST_F(SandboxTest, SeesNoEnvironmentAndNoHostFiles) {
  setenv("SEAMLESS_TEST_SECRET", "hunter2", 1);
  ProcessResult r =
      Py("import os\n"
         "print(open('/proc/self/environ').read().replace('\\0', ' '))\n"
         "print(open('/proc/1/environ').read().replace('\\0', ' '))\n"
         "for path in ['/etc/passwd', '/etc/shadow', '/root', '/home', '/work', "
         "'/proc/1/root/etc/passwd']:\n"
         "    try:\n"
         "        os.listdir(path) if os.path.isdir(path) else open(path).read()\n"
         "        print('READ', path)\n"
         "    except OSError:\n"
         "        print('hidden', path)\n"
         "print(sorted(os.listdir('/')))\n");
  EXPECT_EQ(r.stdout_data.find("hunter2"), std::string::npos);
  EXPECT_EQ(r.stdout_data.find("READ"), std::string::npos) << r.stdout_data;
  EXPECT_NE(r.stdout_data.find("PATH=/usr/bin:/bin"), std::string::npos) << r.stdout_data;
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  unsetenv("SEAMLESS_TEST_SECRET");
}

TEST_F(SandboxTest, HasNoNetwork) {
  // A server on the host's loopback that the sandbox must not reach.
  int server = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(server, 4), 0);
  socklen_t len = sizeof(addr);
  getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ProcessResult r =
      Py("import socket\n"
         "for host, port in [('127.0.0.1', " +
         std::to_string(port) +
         "), ('1.1.1.1', 53), ('10.0.0.1', 80)]:\n"
         "    try:\n"
         "        socket.create_connection((host, port), timeout=0.5)\n"
         "        print('CONNECTED', host)\n"
         "    except OSError:\n"
         "        print('refused', host)\n"
         "try:\n"
         "    socket.getaddrinfo('example.com', 80)\n"
         "    print('RESOLVED')\n"
         "except OSError:\n"
         "    print('no dns')\n");
  close(server);
  EXPECT_EQ(r.stdout_data.find("CONNECTED"), std::string::npos) << r.stdout_data;
  EXPECT_EQ(r.stdout_data.find("RESOLVED"), std::string::npos) << r.stdout_data;
  EXPECT_NE(r.stdout_data.find("no dns"), std::string::npos) << r.stdout_data << r.stderr_data;
}

TEST_F(SandboxTest, BoundPortIsNotReachableFromTheHost) {
  // Pick a port that is free on the host; the sandbox listens on it in its own namespace.
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len);
  close(probe);
  const int port = ntohs(addr.sin_port);
  bool host_connected = true;
  std::thread client([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    host_connected = connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(s);
  });
  ProcessResult r =
      Py("import socket, time\n"
         "s = socket.socket()\n"
         "s.bind(('0.0.0.0', " +
             std::to_string(port) +
             "))\n"
             "s.listen()\n"
             "print('listening', flush=True)\n"
             "time.sleep(0.8)\n",
         2);
  client.join();
  EXPECT_NE(r.stdout_data.find("listening"), std::string::npos) << r.stderr_data;
  EXPECT_FALSE(host_connected);
}

TEST_F(SandboxTest, DetachedDescendantsDieWithTheRun) {
  // setsid + double fork, then exec a long sleep with a recognisable argument; the program
  // itself exits at once. LeftoverProcesses (in TearDown) looks for the sleep.
  ProcessResult r =
      Py("import os\n"
         "if os.fork() == 0:\n"
         "    os.setsid()\n"
         "    if os.fork() == 0:\n"
         "        os.execv('/usr/bin/sleep', ['sleep', '" +
             SleepToken() +
             "'])\n"
             "    os._exit(0)\n"
             "print('parent done')\n",
         2);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_LT(r.wall_seconds, 8);  // killed near its limit, not left running
}

TEST_F(SandboxTest, ZombiesAreReaped) {
  ProcessResult r =
      Py("import os\n"
         "for i in range(8):\n"
         "    if os.fork() == 0: os._exit(0)\n"
         "print('left zombies')\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_data, "left zombies\n");
}

TEST_F(SandboxTest, KillingItsParentsHurtsNothing) {
  ProcessResult r =
      Py("import os, signal\n"
         "for pid in [os.getppid(), 1, -1]:\n"
         "    try:\n"
         "        os.kill(pid, signal.SIGKILL)\n"
         "    except OSError as e:\n"
         "        pass\n"
         "print('alive')\n");
  // Whatever it managed inside its own pid namespace, the host and the runner are fine.
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 128 + 9 || r.signal != 0);
}

TEST_F(SandboxTest, StartFailureIsAnError) {
  SandboxOptions options;
  options.bwrap = "/nonexistent/bwrap";
  EXPECT_FALSE(Sandbox::Create(options).ok());
  SandboxRun run;
  run.argv = {"/nonexistent/program"};
  run.limits.wall_seconds = 2;
  auto result = sandbox_->Run(run);
  ASSERT_TRUE(result.ok()) << result.status();  // bwrap started; the program's exec failed
  EXPECT_NE(result->exit_code, 0);
}

}  // namespace
}  // namespace seamless
