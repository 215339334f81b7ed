// The code is in include/CVMClockCounter.h (static inline); SwiftPM needs a source file.
#include "CVMClockCounter.h"
