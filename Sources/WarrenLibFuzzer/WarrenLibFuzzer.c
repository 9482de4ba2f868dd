// A header-only module: the declaration of libFuzzer's driver (include/WarrenLibFuzzer.h).
#include "WarrenLibFuzzer.h"
