#ifndef C_LIB_FUZZER_H
#define C_LIB_FUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver for a program with its own main (compiler-rt's FuzzerInterface.h).
/// Declared only: it exists when the program is linked with -sanitize=fuzzer, and only
/// the fuzzing build (TOKENBROKER_FUZZING) calls it.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
