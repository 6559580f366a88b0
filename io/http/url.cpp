// Redaction is done by hand so it works on URLs curl would reject too;
// resolution uses curl's parser, the same one that will fetch the result.
#include "io/http/url.h"

#include <curl/curl.h>

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

}  // namespace

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
