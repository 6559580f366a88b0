// Redaction is done by hand so it works on URLs curl would reject too;
// resolution uses curl's parser, the same one that will fetch the result.
#include "io/http/url.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "io/source.h"

namespace qflash {
namespace {

// [begin, end) of "user:password" in url, with end at the '@'; npos if none.
std::pair<size_t, size_t> userinfo_span(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return {std::string::npos, std::string::npos};
  size_t begin = scheme + 3;
  size_t authority_end = url.find_first_of("/?#", begin);
  if (authority_end == std::string::npos) authority_end = url.size();
  size_t at = url.rfind('@', authority_end - 1);
  if (at == std::string::npos || at < begin) return {std::string::npos, std::string::npos};
  return {begin, at};
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// A part of a parsed URL, or empty if it has none.
std::string url_part(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* out = nullptr;
  if (curl_url_get(u, part, &out, flags) != CURLUE_OK || !out) return {};
  std::string s(out);
  curl_free(out);
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::string url_scheme(const std::string& name) {
  size_t colon = name.find("://");
  if (colon == std::string::npos || colon == 0 || !std::isalpha((unsigned char)name[0]))
    return {};
  for (size_t i = 0; i < colon; ++i) {
    unsigned char c = (unsigned char)name[i];
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return {};
  }
  return lower(name.substr(0, colon));
}

std::string url_origin(const std::string& url) {
  std::string scheme = url_scheme(url);
  if (scheme != "http" && scheme != "https") return {};
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return {};
  std::string host = url_part(u.get(), CURLUPART_HOST);
  std::string port = url_part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (host.empty() || port.empty()) return {};
  return scheme + "://" + lower(host) + ":" + port;
}

Result<std::string> parse_origin(const std::string& text) {
  std::string scheme = url_scheme(text);
  std::string origin = url_origin(text);
  auto bad = [&] {
    return usage("--allow-origin wants an origin such as https://cdn.example or "
                 "http://10.0.0.5:8080 (scheme, host and port only), not '" +
                 redact_url(text) + "'");
  };
  if (origin.empty()) return bad();
  size_t authority = text.find("://") + 3;
  size_t rest = text.find_first_of("/?#", authority);
  if (rest != std::string::npos && text.substr(rest) != "/") return bad();
  if (!url_userinfo(text).empty()) return bad();
  return origin;
}

std::string redact_url(const std::string& url) {
  auto [begin, at] = userinfo_span(url);
  if (begin == std::string::npos) return url;
  return url.substr(0, begin) + url.substr(at + 1);
}

std::string url_userinfo(const std::string& url) {
  auto [begin, at] = userinfo_span(url);
  return begin == std::string::npos ? std::string() : url.substr(begin, at - begin);
}

Result<std::string> resolve_url(const std::string& base, const std::string& reference) {
  if (is_url(reference)) return reference;
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u) return io_error("resolve " + reference, ENOMEM);
  if (curl_url_set(u.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK)
    return usage(redact_url(base) + ": not a valid URL");
  if (curl_url_set(u.get(), CURLUPART_URL, reference.c_str(), CURLU_URLENCODE) != CURLUE_OK)
    return usage(redact_url(base) + ": cannot resolve '" + reference + "' against it");
  char* out = nullptr;
  if (curl_url_get(u.get(), CURLUPART_URL, &out, 0) != CURLUE_OK)
    return usage(redact_url(base) + ": cannot resolve '" + reference + "' against it");
  std::string resolved(out);
  curl_free(out);
  return resolved;
}

}  // namespace qflash
