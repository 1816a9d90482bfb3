/* Connection churn for benches/soak.sh, run inside a private network
 * namespace: SERVERS processes accept() on 127.0.0.1:PORT and close each
 * connection after the client's FIN; CLIENTS processes connect() and close()
 * as fast as they can (the client closes first, so its side enters
 * TIME_WAIT). Only loopback; every process is a child of this one and ends
 * with it (SIGTERM to the group leader kills the children by pid).
 *
 *   churn PORT CLIENTS SERVERS
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void serve(int listener) {
    char buf[64];
    for (;;) {
        int c = accept(listener, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE) continue;
            _exit(1);
        }
        while (read(c, buf, sizeof buf) > 0) {}
        close(c);
    }
}

static void connect_forever(struct sockaddr_in *to) {
    for (;;) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) { usleep(1000); continue; }
        if (connect(s, (struct sockaddr *)to, sizeof *to) < 0) usleep(1000);
        close(s);
    }
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: churn PORT CLIENTS SERVERS\n"); return 2; }
    int port = atoi(argv[1]), clients = atoi(argv[2]), servers = atoi(argv[3]);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 4096) < 0) {
        perror("bind/listen");
        return 1;
    }
    pid_t leader = getpid();
    for (int i = 0; i < servers + clients; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the leader */
            if (getppid() != leader) _exit(0);
            if (i < servers) serve(listener);
            close(listener);
            connect_forever(&addr);
        }
    }
    close(listener);
    signal(SIGTERM, SIG_DFL);
    while (wait(NULL) > 0) {}
    return 0;
}
