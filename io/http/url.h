// URL helpers for HTTP sources: the printable form of a URL (credentials
// removed), resolving a reference, such as a backing file name, against
// the URL of the image that names it (RFC 3986, via libcurl's URL API), and
// origins (scheme, host, port: RFC 6454), the unit credentials are bound to.
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

// The origin of an http(s) URL as "scheme://host:port", lower case, the
// port always written (80 and 443 by default); empty if `url` is not one.
std::string url_origin(const std::string& url);

// An origin as the user wrote it ("https://cdn.example", "http://h:8080",
// with or without a trailing '/'), in url_origin's form; a URL with a path,
// query or credentials, or another scheme, is a usage error.
Result<std::string> parse_origin(const std::string& text);

// The scheme of a name written as "scheme://...", or empty for a path.
std::string url_scheme(const std::string& name);

}  // namespace qflash
