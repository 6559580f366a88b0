// <qflash/log.h>: the log sink. In the source tree it lives in
// io/base/log.h; `cmake --install` installs that file under this name.
#pragma once

#include "io/base/log.h"
