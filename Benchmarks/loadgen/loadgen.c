/*
 * A load generator for newline-delimited JSON over a Unix socket: the same client for
 * tokenbrokerd, the echo floor and (built with -DWITH_OIDC_AGENT) oidc-agent, so the
 * numbers differ only by the server.
 *
 *   loadgen --socket PATH --line TEXT [--mode reuse|fresh] [--clients N]
 *           [--requests N] [--warmup N] [--expect TEXT]
 *   loadgen --oidc-account NAME [--clients N] [--requests N] [--warmup N]
 *
 * reuse: each client keeps one connection and sends a line, then reads one answer line.
 * fresh: a new connection per request (connect, write, read a line, close).
 * --oidc-account: each request is one liboidc-agent getAgentTokenResponse call (a new
 * connection to $OIDC_SOCK with its key exchange, as oidc-token makes it).
 *
 * Clients are processes (fork), so the clients of a run share no locks; they start
 * together and record every request's time in shared memory. Prints one line:
 *   p50_us P p99_us P per_s R requests N
 * Exits 1 when a request fails or an answer lacks --expect (default "accessToken"); then
 * it prints the answer's first 120 bytes only when no token is in it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef WITH_OIDC_AGENT
#include <oidc-agent/api.h>
#endif

static const char *socket_path, *line, *expect = "accessToken", *oidc_account;
static int fresh, clients = 1;
static long requests = 10000, warmup = -1;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "loadgen: %s: %s\n", what, errno ? strerror(errno) : "failed");
    _exit(1);
}

static int connect_socket(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, socket_path, sizeof address.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) die("connect");
    return fd;
}

/* Reads up to and including one '\n' (the answers here are single short lines, and a
 * client in these modes never has a second answer pending). */
static void read_answer(int fd, char *buffer, size_t size) {
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, buffer + used, size - 1 - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("read");
        if (n == 0) { errno = 0; die("the server closed the connection before answering"); }
        used += (size_t)n;
        buffer[used] = 0;
        if (memchr(buffer + used - n, '\n', (size_t)n)) break;
        if (used == size - 1) { errno = 0; die("answer longer than 64 KiB"); }
    }
    if (!strstr(buffer, expect)) {
        /* Not the expected answer. An error object carries no token, so show its start;
         * anything holding a token is not shown. */
        if (strstr(buffer, "accessToken")) fprintf(stderr, "loadgen: the answer lacks %s\n", expect);
        else fprintf(stderr, "loadgen: unexpected answer: %.120s\n", buffer);
        _exit(1);
    }
}

static void write_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("write");
        data += n;
        length -= (size_t)n;
    }
}

static void one_request(int *fd, size_t line_length, char *buffer, size_t size) {
#ifdef WITH_OIDC_AGENT
    if (oidc_account) {
        struct agent_response response = getAgentTokenResponse(oidc_account, 0, NULL, "loadgen", NULL);
        int ok = response.type == AGENT_RESPONSE_TYPE_TOKEN && response.token_response.token &&
                 response.token_response.token[0];
        if (!ok) {
            fprintf(stderr, "loadgen: oidc-agent: %s\n",
                    response.type == AGENT_RESPONSE_TYPE_ERROR && response.error_response.error
                        ? response.error_response.error : "no token");
            _exit(1);
        }
        secFreeAgentResponse(response);
        return;
    }
#endif
    if (fresh) *fd = connect_socket();
    write_all(*fd, line, line_length);
    read_answer(*fd, buffer, size);
    if (fresh) { close(*fd); *fd = -1; }
}

struct shared {
    uint64_t started[64], finished[64];
    uint32_t latency_ns[]; /* clients × requests */
};

static int compare(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void run_client(struct shared *shared, int index, int start_pipe) {
    char buffer[65536], go;
    size_t line_length = line ? strlen(line) : 0;
    int fd = -1;
    if (socket_path && !fresh) fd = connect_socket();
    for (long i = 0; i < warmup; i++) one_request(&fd, line_length, buffer, sizeof buffer);
    /* Every client waits here until the parent closes the pipe: they start together. */
    if (read(start_pipe, &go, 1) < 0) die("start");
    uint32_t *mine = shared->latency_ns + (size_t)index * (size_t)requests;
    shared->started[index] = now_ns();
    for (long i = 0; i < requests; i++) {
        uint64_t t0 = now_ns();
        one_request(&fd, line_length, buffer, sizeof buffer);
        uint64_t elapsed = now_ns() - t0;
        mine[i] = elapsed > UINT32_MAX ? UINT32_MAX : (uint32_t)elapsed;
    }
    shared->finished[index] = now_ns();
    _exit(0);
}

static const char *value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) { fprintf(stderr, "loadgen: %s needs a value\n", argv[*i]); exit(2); }
    return argv[++*i];
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--socket")) socket_path = value(argc, argv, &i);
        else if (!strcmp(a, "--line")) line = value(argc, argv, &i);
        else if (!strcmp(a, "--expect")) expect = value(argc, argv, &i);
        else if (!strcmp(a, "--oidc-account")) oidc_account = value(argc, argv, &i);
        else if (!strcmp(a, "--mode")) fresh = !strcmp(value(argc, argv, &i), "fresh");
        else if (!strcmp(a, "--clients")) clients = atoi(value(argc, argv, &i));
        else if (!strcmp(a, "--requests")) requests = atol(value(argc, argv, &i));
        else if (!strcmp(a, "--warmup")) warmup = atol(value(argc, argv, &i));
        else { fprintf(stderr, "loadgen: unknown argument %s\n", a); return 2; }
    }
#ifndef WITH_OIDC_AGENT
    if (oidc_account) { fprintf(stderr, "loadgen: built without oidc-agent support\n"); return 2; }
#endif
    if (!oidc_account && !(socket_path && line)) { fprintf(stderr, "loadgen: needs --socket and --line, or --oidc-account\n"); return 2; }
    if (clients < 1 || clients > 64 || requests < 1) { fprintf(stderr, "loadgen: 1-64 clients, 1+ requests\n"); return 2; }
    if (warmup < 0) warmup = requests / 10 < 200 ? requests / 10 : 200;

    size_t total = (size_t)clients * (size_t)requests;
    size_t bytes = sizeof(struct shared) + total * sizeof(uint32_t);
    struct shared *shared = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) die("mmap");
    int start[2];
    if (pipe(start) < 0) die("pipe");
    pid_t pids[64];
    for (int c = 0; c < clients; c++) {
        pids[c] = fork();
        if (pids[c] < 0) die("fork");
        if (pids[c] == 0) { close(start[1]); run_client(shared, c, start[0]); }
    }
    close(start[0]);
    close(start[1]); /* the clients' reads return: go */
    int failed = 0;
    for (int c = 0; c < clients; c++) {
        int status;
        if (waitpid(pids[c], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
    }
    if (failed) return 1;

    uint64_t first = UINT64_MAX, last = 0;
    for (int c = 0; c < clients; c++) {
        if (shared->started[c] < first) first = shared->started[c];
        if (shared->finished[c] > last) last = shared->finished[c];
    }
    qsort(shared->latency_ns, total, sizeof(uint32_t), compare);
    double p50 = shared->latency_ns[total / 2] / 1000.0;
    double p99 = shared->latency_ns[(size_t)(total * 0.99)] / 1000.0;
    double per_s = (double)total / ((double)(last - first) / 1e9);
    printf("p50_us %.1f p99_us %.1f per_s %.0f requests %zu\n", p50, p99, per_s, total);
    return 0;
}
