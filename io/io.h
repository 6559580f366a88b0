// io: where bytes come from and go to, knowing nothing of image formats.
//   source.h  Source (read-only random access; files, block devices, URLs) and open_source()
//   target.h  Target (a regular file or block device being written) and open_target()
//   mounts.h  mounts and swap areas through libmount, for the busy-device checks
//   http/     the HTTP(S) Source (io/http/http.h)
#pragma once

#include "io/mounts.h"
#include "io/source.h"
#include "io/target.h"
