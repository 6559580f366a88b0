// io/base: the bottom of the library, needing nothing but the C++ library.
//   error.h   Error, Result<T>, Status: errors as values (installed as <qflash/error.h>)
//   fd.h      Fd, the one owner of a file descriptor
//   endian.h  big- and little-endian loads
//   log.h     the log sink callers set (installed as <qflash/log.h>); debug.h the library's side
//   size.h    human_size and parse_size
#pragma once

#include "io/base/endian.h"
#include "io/base/error.h"
#include "io/base/fd.h"
#include "io/base/log.h"
#include "io/base/size.h"
