// posix_spawn with the descriptor and signal setup a child of a multi-threaded process
// needs. In C because posix_spawn_file_actions_addclosefrom_np wants _GNU_SOURCE.
#define _GNU_SOURCE
#include "CTokenBrokerSystem.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

extern char **environ;

static int add_stdio(posix_spawn_file_actions_t *actions, const int stdio[3]) {
    for (int target = 0; target < 3; target++) {
        int result = 0;
        if (stdio[target] == -1) {
            result = posix_spawn_file_actions_addopen(actions, target, "/dev/null", O_RDWR, 0);
        } else if (stdio[target] >= 0) {
            // dup2 onto itself clears FD_CLOEXEC (POSIX 2008 TC2, glibc >= 2.29).
            result = posix_spawn_file_actions_adddup2(actions, stdio[target], target);
        }
        if (result != 0) {
            return result;
        }
    }
    // Nothing else leaks into the child: not the daemon's listening socket, not the
    // database, not another child's pipe. (glibc 2.34+)
    return posix_spawn_file_actions_addclosefrom_np(actions, 3);
}

static int set_attributes(posix_spawnattr_t *attributes) {
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    // Ignored signals survive exec; the Swift runtime and NIO ignore SIGPIPE.
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGCHLD);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGQUIT);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    int result = posix_spawnattr_setsigmask(attributes, &empty);
    if (result == 0) result = posix_spawnattr_setsigdefault(attributes, &defaults);
    if (result == 0) result = posix_spawnattr_setflags(attributes, flags);
    return result;
}

int tb_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], const int stdio[3]) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) {
        return result;
    }
    result = posix_spawnattr_init(&attributes);
    if (result != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return result;
    }
    result = add_stdio(&actions, stdio);
    if (result == 0) result = set_attributes(&attributes);
    if (result == 0) result = posix_spawn(pid, path, &actions, &attributes, argv, envp ? envp : environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return result;
}

int tb_pipe_cloexec(int ends[2]) {
    return pipe2(ends, O_CLOEXEC);
}
