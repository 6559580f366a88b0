// Private to io/: a FileSource over a descriptor opened elsewhere (by the
// reference policy, which opens and checks before anything is read).
#pragma once

#include <string>

#include "io/base/fd.h"
#include "io/source.h"

namespace qflash {

// `fd` open read-only on a regular file or block device; `name` for messages.
Result<SourcePtr> file_source_over(const std::string& name, Fd fd);

}  // namespace qflash
