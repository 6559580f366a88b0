// <qflash/error.h>: Result, Status and Error. In the source tree they live
// in io/base/error.h; `cmake --install` installs that file under this name.
#pragma once

#include "io/base/error.h"
