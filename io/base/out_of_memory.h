// Memory exhaustion as an error value: std::bad_alloc is caught where the
// library is entered (opening, checking and resolving a chain, worker jobs,
// the write loop) and becomes an Error, so a run that runs out of memory
// ends with a report and flushed targets instead of an abort.
#pragma once

#include <cerrno>
#include <new>
#include <string>

#include "io/base/error.h"

namespace qflash {

// `what` names the operation, e.g. "open disk.qcow2".
inline Error out_of_memory(const std::string& what) {
  return {ErrorKind::Io, what + ": out of memory (try a smaller --memory)", ENOMEM};
}

// Calls `f` (returning a Result or Status); a std::bad_alloc it throws is
// returned as out_of_memory(what).
template <typename F>
auto catch_bad_alloc(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return out_of_memory(what);
  }
}

}  // namespace qflash
