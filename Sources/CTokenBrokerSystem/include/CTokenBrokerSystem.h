#ifndef C_TOKEN_BROKER_SYSTEM_H
#define C_TOKEN_BROKER_SYSTEM_H

#include <stdint.h>
#include <sys/types.h>

/// The layout of `struct ucred` (SO_PEERCRED), which glibc only declares under
/// _GNU_SOURCE; read with NIO's `unsafeGetSocketOption`.
typedef struct {
    int32_t pid;
    uint32_t uid;
    uint32_t gid;
} tb_peer_credentials;

/// Makes the process non-dumpable: no core dumps, no ptrace by other processes of the
/// same user (PR_SET_DUMPABLE = 0), and a zero core size limit. Returns 0 or -1.
int tb_harden_process(void);

#endif
