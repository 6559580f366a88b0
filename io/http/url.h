// URL helpers for HTTP sources: the printable form of a URL (credentials
// removed) and resolving a reference, such as a backing file name, against
// the URL of the image that names it (RFC 3986, via libcurl's URL API).
#pragma once

#include <string>

#include "io/base/error.h"

namespace qflash {

// `url` without "user:password@"; everything else kept.
std::string redact_url(const std::string& url);

// The user information ("user:password") of `url`, or empty.
std::string url_userinfo(const std::string& url);

// `reference` resolved against `base`: a URL stays as it is, anything else
// is a relative reference (its special characters percent-encoded).
Result<std::string> resolve_url(const std::string& base, const std::string& reference);

}  // namespace qflash
