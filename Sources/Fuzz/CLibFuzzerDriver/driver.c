// Nothing to compile: the header declares libFuzzer's own driver (a C target
// needs one source file).
#include "CLibFuzzerDriver.h"
