// Header only: see include/CLibFuzzer.h.
