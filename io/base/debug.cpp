#include "io/base/debug.h"

namespace qflash {

bool g_debug = false;

}  // namespace qflash
