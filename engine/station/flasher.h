// Flasher: drives written with one image, each joining whenever it is
// plugged in and going at its own pace; the one place the station meets the
// write engine and its verification. One WriteSession (engine/write) runs
// on a thread of its own for the station's life: the image is read and
// decoded once for the drives that are close together, a drive that falls
// behind re-stages its chunks, memory stays within --memory.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/write/mass_writer.h"
#include "io/source.h"

namespace qflash {

class Flasher {
 public:
  // Called once per target, on the engine's thread (or in add() once the
  // engine has ended), when it is flushed or has failed; a target cut short
  // by the stop flag fails as Interrupted.
  using Done = std::function<void(size_t id, TargetResult result)>;

  // Opens and validates `image`; nothing is written yet. `options.stop`
  // stops every write; `options.progress` is not used (see progress()).
  static Result<std::unique_ptr<Flasher>> create(const std::string& image,
                                                 const SourceOptions& source,
                                                 const WriteOptions& options, Done on_done);
  // Stops nothing by itself: closes the session and waits for every write
  // (set the stop flag first to cut them short). No callback comes after it
  // returns.
  ~Flasher();
  Flasher(const Flasher&) = delete;
  Flasher& operator=(const Flasher&) = delete;

  uint64_t virtual_size() const { return size_; }
  // Thread-safe: an error once the engine ended because the image failed
  // (corrupt, a digest that does not match, the source lost): no drive can
  // be written any more. Ok while it runs, or when it ended on the stop flag.
  Status image_status() const;
  // Thread-safe: the SHA-256 of the image file, once the engine read it to
  // its end (for the first drive), else nothing.
  std::optional<Sha256::Digest> image_sha256() const;

  // Thread-safe: `target` joins the running engine from its own beginning.
  // Returns its id. Once the engine has ended (the image failed, the stop
  // flag), the target fails at once with that reason, untouched.
  size_t add(WriteTarget target);
  // Thread-safe: bytes of target `id` written so far.
  TargetProgress progress(size_t id) const;

  // After target `id` is done and good: reads it back through `fd` (a
  // read-only descriptor of the same device, not reopened by name) and
  // compares with what was written. Blocking; thread-safe. An error says
  // why not equal: different bytes (ErrorKind::Target, naming the offset),
  // I/O, or ErrorKind::Interrupted once `options.stop` is set. `progress`
  // (may be empty) is told the bytes checked so far.
  Status verify(size_t id, int fd, const std::string& name,
                const std::function<void(uint64_t)>& progress) const;

 private:
  struct Impl;
  Flasher(std::unique_ptr<Impl> impl, uint64_t size);
  std::unique_ptr<Impl> impl_;
  uint64_t size_;
};

}  // namespace qflash
