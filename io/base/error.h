// Errors as values, shared by every module: a category, errno where there is
// one, and a message that already names the file, offset or cluster at fault.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace qflash {

enum class ErrorKind {
  Usage,        // the caller asked for something impossible
  Corrupt,      // the image breaks the format
  Unsupported,  // valid, but a feature we do not implement (e.g. encryption)
  Io,           // the kernel or a server said no
  Target,       // a target failed or was refused
  Interrupted,  // SIGINT/SIGTERM
};

struct Error {
  ErrorKind kind;
  std::string message;
  int err = 0;  // errno, 0 when not from the kernel
};

inline Error corrupt(std::string msg) { return {ErrorKind::Corrupt, std::move(msg)}; }
inline Error unsupported(std::string msg) { return {ErrorKind::Unsupported, std::move(msg)}; }
inline Error usage(std::string msg) { return {ErrorKind::Usage, std::move(msg)}; }
// `what` names the operation and the file, e.g. "read disk.qcow2 at 65536".
inline Error io_error(std::string what, int err) {
  return {ErrorKind::Io, what + ": " + std::strerror(err), err};
}

// A value or an Error; the C++23 std::expected we cannot use yet, kept small.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }
  Error&& take_error() { return std::move(err_); }

 private:
  Error err_{};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace qflash

// Propagate an error from an expression returning Result/Status.
#define QF_TRY(expr)                                     \
  do {                                                   \
    auto qf_try_result_ = (expr);                        \
    if (!qf_try_result_) return qf_try_result_.take_error(); \
  } while (0)

#define QF_CONCAT_(a, b) a##b
#define QF_CONCAT(a, b) QF_CONCAT_(a, b)
// Bind the value of a Result expression or propagate its error.
#define QF_ASSIGN(lhs, expr) QF_ASSIGN_(QF_CONCAT(qf_res_, __LINE__), lhs, expr)
#define QF_ASSIGN_(tmp, lhs, expr)        \
  auto tmp = (expr);                      \
  if (!tmp) return tmp.take_error();      \
  lhs = std::move(tmp).value()
