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

/// Starts `path` with posix_spawn(3). `stdio[i]` becomes descriptor i of the child
/// (-1: /dev/null, -2: the parent's own); every other descriptor is closed in the child,
/// and the signal mask and the dispositions a runtime changes (SIGPIPE ignored) are
/// reset. `envp` NULL passes the parent's environment. Returns 0, or an errno value.
int tb_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], const int stdio[3]);

/// pipe2(2) with O_CLOEXEC, which glibc declares only under _GNU_SOURCE. Returns 0 or -1.
int tb_pipe_cloexec(int ends[2]);

#endif
