// io/http: images over HTTP(S) as a Source: range requests on libcurl's
// multi interface, a chunk cache with read-ahead, retries, and URL helpers.
//   http_source.h  open_http_source()
//   chunk_cache.h  the LRU of fetched chunks
//   url.h          credentials removed for printing; references resolved (RFC 3986)
#pragma once

#include "io/http/http_source.h"
#include "io/http/url.h"
