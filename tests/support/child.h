// run_child: runs a command like run(), but as a direct child that can be
// watched: its peak RSS and wall time are measured, something can be done to
// it mid-run (a signal, truncating its input), io_uring can be denied to it
// (seccomp, as kernel.io_uring_disabled=2 would, without touching the
// machine-wide sysctl), and it is killed if it hangs.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/support/support.h"

namespace qflash::test {

// Installs a seccomp filter on the calling process: io_uring_setup fails
// with EPERM, as with kernel.io_uring_disabled=2; everything else runs.
bool deny_io_uring();

struct ChildOptions {
  bool deny_io_uring = false;          // io_uring_setup fails with EPERM
  double act_after = -1;               // seconds; < 0: never
  std::function<void(pid_t)> act;      // called once, act_after seconds in
  std::function<bool()> act_when = nullptr;  // if set, act also waits for this (polled)
  double timeout = 120;                // then SIGKILL, and hung is set
};

struct ChildResult : CommandResult {
  long max_rss_kib = 0;  // peak resident set of the command
  double seconds = 0;
  double acted_at = -1;  // seconds in when `act` was called; -1: never
  bool hung = false;
};

// `command` runs through /bin/sh -c "exec ...", so the measures are its own.
ChildResult run_child(const std::string& command, const ChildOptions& options = {});

// Runs `argv` (argv[0] a path) on a new pseudo-terminal, as at an operator's
// terminal; once `prompt` appears, calls `at_prompt` (if set) and types
// `answer`. Returns the exit status and everything the terminal showed.
CommandResult run_on_terminal(std::vector<std::string> argv, const std::string& prompt,
                              const std::string& answer,
                              const std::function<void()>& at_prompt = {});

}  // namespace qflash::test
