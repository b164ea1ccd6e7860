/*
 * The floor: a Unix-socket server that does only what any line server must, so what
 * tokenbrokerd costs above it is the daemon's own. For every '\n' it reads it writes one
 * fixed answer line of ANSWER_BYTES (shaped like a token/get result); it reads the peer's
 * uid with SO_PEERCRED on accept, as the daemon must.
 *
 *   echo --socket PATH [--answer-bytes N] [--model epoll|threads] [--workers N]
 *
 * epoll (default): N worker threads (default 2, one a core here), each with its own
 * epoll set holding the listening socket (EPOLLEXCLUSIVE, so one worker wakes per
 * connection) and the connections it accepted: the shape of an event-loop server.
 * threads: one thread per connection, blocking reads: no event loop at all.
 * Serves until SIGTERM or SIGINT, then removes the socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char *answer;
static size_t answer_length = 256;
static int listener;

static void die(const char *what) {
    fprintf(stderr, "echo: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int peer_is_us(int fd) {
    struct ucred credentials;
    socklen_t size = sizeof credentials;
    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) == 0 && credentials.uid == getuid();
}

/* Answers every complete line in what was read; returns 0 when the connection is done. */
static int serve_read(int fd) {
    char buffer[65536];
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 1;
    if (n <= 0) return 0;
    for (char *p = buffer, *end = buffer + n; (p = memchr(p, '\n', (size_t)(end - p))); p++) {
        /* The answers are small and each client waits for one before sending the next, so
         * the socket buffer always takes it whole. */
        if (write(fd, answer, answer_length) != (ssize_t)answer_length) return 0;
    }
    return 1;
}

static void *epoll_worker(void *unused) {
    (void)unused;
    int set = epoll_create1(EPOLL_CLOEXEC);
    if (set < 0) die("epoll_create1");
    struct epoll_event event = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = listener};
    if (epoll_ctl(set, EPOLL_CTL_ADD, listener, &event) < 0) die("epoll_ctl");
    struct epoll_event ready[256];
    for (;;) {
        int count = epoll_wait(set, ready, 256, -1);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0) die("epoll_wait");
        for (int i = 0; i < count; i++) {
            int fd = ready[i].data.fd;
            if (fd == listener) {
                int client;
                while ((client = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (!peer_is_us(client)) { close(client); continue; }
                    struct epoll_event e = {.events = EPOLLIN, .data.fd = client};
                    if (epoll_ctl(set, EPOLL_CTL_ADD, client, &e) < 0) die("epoll_ctl");
                }
            } else if (!serve_read(fd)) {
                close(fd); /* closing removes it from the set */
            }
        }
    }
    return NULL;
}

static void *connection_thread(void *argument) {
    int fd = (int)(long)argument;
    if (peer_is_us(fd))
        while (serve_read(fd)) {}
    close(fd);
    return NULL;
}

/* The threads model: a blocking accept loop, a detached thread for each connection. */
static void *accept_loop(void *unused) {
    (void)unused;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attributes, 256 * 1024);
    for (;;) {
        int client = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (client < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            die("accept");
        }
        pthread_t thread;
        if (pthread_create(&thread, &attributes, connection_thread, (void *)(long)client)) close(client);
    }
    return NULL;
}

static const char *value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) { fprintf(stderr, "echo: %s needs a value\n", argv[*i]); exit(2); }
    return argv[++*i];
}

int main(int argc, char **argv) {
    const char *path = NULL, *model = "epoll";
    int workers = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--socket")) path = value(argc, argv, &i);
        else if (!strcmp(argv[i], "--answer-bytes")) answer_length = (size_t)atol(value(argc, argv, &i));
        else if (!strcmp(argv[i], "--model")) model = value(argc, argv, &i);
        else if (!strcmp(argv[i], "--workers")) workers = atoi(value(argc, argv, &i));
        else { fprintf(stderr, "echo: unknown argument %s\n", argv[i]); return 2; }
    }
    if (!path || answer_length < 96 || answer_length > 60000 || workers < 1) {
        fprintf(stderr, "echo: needs --socket; --answer-bytes 96-60000; --workers 1+\n");
        return 2;
    }
    /* {"jsonrpc":"2.0","id":1,"result":{"accessToken":"echo-floor-xxx…","tokenType":"Bearer"}} */
    const char *head = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"accessToken\":\"echo-floor-";
    const char *tail = "\",\"tokenType\":\"Bearer\"}}\n";
    answer = malloc(answer_length + 1);
    size_t fill = answer_length - strlen(head) - strlen(tail);
    memcpy(answer, head, strlen(head));
    memset(answer + strlen(head), 'x', fill);
    memcpy(answer + strlen(head) + fill, tail, strlen(tail) + 1);

    /* Non-blocking for the epoll workers, which accept until EAGAIN; blocking for threads. */
    int blocking = !strcmp(model, "threads");
    listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (blocking ? 0 : SOCK_NONBLOCK), 0);
    if (listener < 0) die("socket");
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    unlink(path);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0) die("bind");
    if (listen(listener, 4096) < 0) die("listen");

    /* The signals are taken by sigwait in this thread; the workers never see them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_t thread;
    if (!strcmp(model, "threads")) {
        if (pthread_create(&thread, NULL, accept_loop, NULL)) die("pthread_create");
    } else {
        for (int w = 0; w < workers; w++)
            if (pthread_create(&thread, NULL, epoll_worker, NULL)) die("pthread_create");
    }
    int signal_number;
    sigwait(&stop, &signal_number);
    unlink(path);
    return 0;
}
