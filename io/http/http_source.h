// HTTP(S) sources: an image read with HTTP range requests on the libcurl
// multi interface. Two I/O threads (one on a single CPU) share the
// transfers of a source over keep-alive connections (HTTP/2 streams where
// the server offers them);
// read_at() (from any thread) waits for the chunks it needs, kept in a
// bounded LRU. Ranges lie on a fixed grid (chunk_size) so that caches keyed
// on slices can share them between stations. Sequential streams are read
// ahead deep enough to cover the measured bandwidth-delay product, within
// SourceOptions::cache_bytes. Transient faults (resets, timeouts, 5xx) are
// retried with back-off, a broken range resumed where it stopped; no range
// support, 4xx, a wrong range, or a file that changes during the run (size,
// ETag, Last-Modified) fail with a one-line error naming the answer.
// Headers, URL credentials and netrc go only to the origin of the image the
// user named; other origins (redirects, backing files) only with
// SourceOptions::allowed_origins, and without them. Credentials and header
// values never appear in names, messages or --debug output.
//
// Parts: response.h judges answers, transfer.h runs one range request,
// pipeline.h sizes the read-ahead; this file schedules the chunks.
#pragma once

#include <chrono>
#include <cstddef>

#include "io/source.h"

namespace qflash {

struct HttpOptions {
  size_t chunk_size = size_t(1) << 20;  // the grid: every range starts on it
  size_t cache_chunks = 0;  // LRU capacity, chunks in flight included; 0: SourceOptions::cache_bytes
  size_t readahead_chunks = 0;  // 0: adaptive; else this depth, one chunk per request
  long max_transfers = 16;      // range requests in flight, and connections
  size_t max_request_chunks = 8;  // the largest range request, in chunks
  // The opening request's chunks (at most a quarter of the cache): the
  // first readers' data comes with the header, not a round trip later.
  size_t opening_chunks = 16;
  int max_retries = 5;          // per request, for transient faults
  std::chrono::milliseconds backoff{250};  // the first retry's delay, doubled each time
  long connect_timeout_s = 15;
  long stall_timeout_s = 30;  // a transfer under 1 byte/s for this long is retried
  long max_redirects = 10;
};

// Probes `url` (a ranged GET of the first chunks, kept in the cache,
// following redirects the origin policy allows) for its size, range
// support and validators, then returns the source once the first chunk is
// in, the rest of the answer on its way; fails before any data is used if
// the server is unreachable, refuses, does not tell the size, ignores Range
// (for a file longer than the opening request), or the URL's origin is not
// allowed.
Result<SourcePtr> open_http_source(const std::string& url, const SourceOptions& options,
                                   const HttpOptions& http = {});

}  // namespace qflash
