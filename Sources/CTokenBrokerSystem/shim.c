// prctl is variadic, so Swift cannot call it; this wrapper lives in C.
#define _GNU_SOURCE
#include "CTokenBrokerSystem.h"

#include <sys/prctl.h>
#include <sys/resource.h>

int tb_harden_process(void) {
    struct rlimit none = {0, 0};
    int result = setrlimit(RLIMIT_CORE, &none);
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        result = -1;
    }
    return result;
}
