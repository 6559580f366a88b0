// open_source: the one place that maps a name to a Source implementation.
#include "io/source.h"

namespace qflash {

Result<SourcePtr> open_source(const std::string& name, const SourceOptions&) {
  if (is_url(name)) return unsupported(name + ": HTTP sources are not built in yet");
  return open_file_source(name);
}

}  // namespace qflash
