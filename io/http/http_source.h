// HTTP(S) sources: an image read with HTTP range requests on the libcurl
// multi interface. One I/O thread drives every transfer of a source over
// keep-alive connections; read_at() (from any thread) waits for the chunks
// it needs, kept in a bounded LRU, and sequential streams are read ahead.
// Transient faults (resets, timeouts, 5xx) are retried with back-off; no
// range support, 4xx, or a file that changes during the run (size, ETag,
// Last-Modified) fail with a one-line error. Credentials and header values
// never appear in names, messages or --debug output.
#pragma once

#include <chrono>
#include <cstddef>

#include "io/source.h"

namespace qflash {

struct HttpOptions {
  size_t chunk_size = size_t(1) << 20;
  size_t cache_chunks = 64;      // LRU capacity (64 MiB with 1 MiB chunks)
  size_t readahead_chunks = 16;  // requested ahead of a sequential stream
  long max_transfers = 8;        // range requests in flight, and connections
  int max_retries = 5;           // per request, for transient faults
  std::chrono::milliseconds backoff{250};  // the first retry's delay, doubled each time
  long connect_timeout_s = 15;
  long stall_timeout_s = 30;  // a transfer under 1 byte/s for this long is retried
  long max_redirects = 10;
};

// Probes `url` (a ranged GET of byte 0) for its size, range support and
// validators, then returns the source; fails before any data is read if
// the server is unreachable, refuses, or ignores Range.
Result<SourcePtr> open_http_source(const std::string& url, const SourceOptions& options,
                                   const HttpOptions& http = {});

}  // namespace qflash
