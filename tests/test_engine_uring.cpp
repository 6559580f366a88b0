// Without io_uring (refused here by a seccomp filter in a child process, as
// kernel.io_uring_disabled or a container's policy would) the engine fails
// with one line naming io_uring and writes nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/child.h"
#include "tests/support/engine_run.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

TEST(EngineUring, RefusedIoUringIsOneLineNamingIt) {
  ScratchDir dir;
  must("qemu-img create -q -f qcow2 " + quote(dir / "img.qcow2") + " 4M");
  must("qemu-io -c 'write -P 0x5a 0 1M' " + quote(dir / "img.qcow2"));
  const std::string out = dir / "message";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!deny_io_uring()) ::_exit(3);
    auto report = engine_write(dir / "img.qcow2", {{dir / "a.raw"}});
    if (report) ::_exit(4);
    write_file(out, std::vector<uint8_t>(report.error().message.begin(), report.error().message.end()));
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "3: no seccomp here, 4: the engine ran without io_uring";
  const auto bytes = read_file(out);
  const std::string message(bytes.begin(), bytes.end());
  EXPECT_NE(message.find("io_uring"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  struct stat st;
  ASSERT_EQ(::stat((dir / "a.raw").c_str(), &st), 0);
  EXPECT_EQ(st.st_blocks, 0) << "nothing may be written";
}

}  // namespace
}  // namespace qflash::test
