#include "engine/debug.h"

namespace qflash {

bool g_debug = false;

}  // namespace qflash
