#ifndef WARREN_LIBFUZZER_H
#define WARREN_LIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer): parses libFuzzer's options from
/// the command line and calls `callback` for every input. warren-fuzz calls it from its own entry
/// point, because SwiftPM renames an executable's `main` (docs/hardening.md).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
