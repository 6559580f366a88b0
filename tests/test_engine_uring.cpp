// Without io_uring (refused here by a seccomp filter in a child process, as
// kernel.io_uring_disabled or a container's policy would) the engine fails
// with one line naming io_uring and writes nothing.
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/engine_run.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

bool refuse_io_uring_setup() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{sizeof filter / sizeof filter[0], filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

TEST(EngineUring, RefusedIoUringIsOneLineNamingIt) {
  ScratchDir dir;
  must("qemu-img create -q -f qcow2 " + quote(dir / "img.qcow2") + " 4M");
  must("qemu-io -c 'write -P 0x5a 0 1M' " + quote(dir / "img.qcow2"));
  const std::string out = dir / "message";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!refuse_io_uring_setup()) ::_exit(3);
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
