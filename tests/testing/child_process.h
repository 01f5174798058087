// A long-running child process for loopback tests: a real server started from the `seamless`
// binary, whose stdout is watched for its "listening on HOST:PORT" line, and which can be
// killed (to test crash recovery) or stopped gracefully. It is the tree's one launcher,
// core/base/child_process.h, with stdout a pipe (ChildProcess::Start(argv)) and stderr the
// test's, so that server logs show up in failures.
#ifndef SEAMLESS_TESTS_TESTING_CHILD_PROCESS_H_
#define SEAMLESS_TESTS_TESTING_CHILD_PROCESS_H_

#include "core/base/child_process.h"

namespace seamless {
namespace testing {

using ::seamless::ChildProcess;

}  // namespace testing
}  // namespace seamless

#endif  // SEAMLESS_TESTS_TESTING_CHILD_PROCESS_H_
