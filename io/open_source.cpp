// open_source: the one place that maps a name to a Source implementation.
#include "io/http/http_source.h"
#include "io/http/url.h"
#include "io/source.h"

namespace qflash {

Result<SourcePtr> open_source(const std::string& name, const SourceOptions& options) {
  if (is_url(name)) return open_http_source(name, options);
  if (std::string scheme = url_scheme(name); !scheme.empty())
    return unsupported(redact_url(name) + ": unsupported URL scheme '" + scheme +
                       "' (qflash reads http:// and https://)");
  return open_file_source(name);
}

}  // namespace qflash
