// open_source: the one place that maps a name to a Source implementation.
#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "io/http/http_source.h"
#include "io/http/url.h"
#include "io/source.h"

namespace qflash {
namespace {

// HTTPS checks servers against the CA store libcurl was built to use; on a
// machine without one (a minimal install: nothing pulled in ca-certificates)
// curl's own message names the file but not the cure.
Status check_ca_store(const std::string& url) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return {};
  const char* bundle = nullptr;
  const char* directory = nullptr;
  curl_easy_getinfo(curl.get(), CURLINFO_CAINFO, &bundle);
  curl_easy_getinfo(curl.get(), CURLINFO_CAPATH, &directory);
  // libcurl fails on a missing bundle file even when the directory exists.
  const char* missing = bundle ? (::access(bundle, R_OK) == 0 ? nullptr : bundle)
                               : (directory && ::access(directory, R_OK | X_OK) != 0 ? directory
                                                                                     : nullptr);
  if (!missing) return {};
  return Error{ErrorKind::Io,
               redact_url(url) + ": no CA certificates to check the server with (" + missing +
                   " is missing); install them: apt-get install ca-certificates (Debian, Ubuntu)",
               ENOENT};
}

}  // namespace

Result<SourcePtr> open_source(const std::string& name, const SourceOptions& options) {
  if (is_url(name)) {
    if (name.starts_with("https://")) QF_TRY(check_ca_store(name));
    return open_http_source(name, options);
  }
  // "ftp://..." is not a file name the user meant: say so rather than "No
  // such file or directory".
  if (const std::string scheme = url_scheme(name); !scheme.empty())
    return unsupported(redact_url(name) + ": unsupported URL scheme '" + scheme +
                       "' (images are local paths or http:// and https:// URLs)");
  return open_file_source(name);
}

}  // namespace qflash
