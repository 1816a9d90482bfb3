/* Connection churn for benches/soak.sh, run inside a private network
 * namespace: SERVERS processes accept() on 127.0.0.1:PORT and close each
 * connection after the client's FIN; CLIENTS processes connect() and close()
 * (the client closes first, so its side enters TIME_WAIT), together RATE
 * connections a second, or as fast as they can when RATE is 0 or left out.
 * A paced run leaves the rest of the machine's CPU to what is measured. Only loopback; every process is a child of this one and ends
 * with it (SIGTERM to the group leader kills the children by pid).
 *
 *   churn PORT CLIENTS SERVERS [RATE]
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
#include <time.h>
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

static double seconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* per_second 0: unpaced. Otherwise connection n starts no earlier than
 * n / per_second seconds after the first, so a late client catches up. */
static void connect_forever(struct sockaddr_in *to, double per_second) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned long long made = 0;; made++) {
        if (per_second > 0) {
            double ahead = (double)made / per_second - seconds_since(&start);
            if (ahead > 0) usleep((useconds_t)(ahead * 1e6));
        }
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) { usleep(1000); continue; }
        if (connect(s, (struct sockaddr *)to, sizeof *to) < 0) usleep(1000);
        close(s);
    }
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) { fprintf(stderr, "usage: churn PORT CLIENTS SERVERS [RATE]\n"); return 2; }
    int port = atoi(argv[1]), clients = atoi(argv[2]), servers = atoi(argv[3]);
    double rate = argc == 5 ? atof(argv[4]) : 0;
    double per_client = clients > 0 && rate > 0 ? rate / clients : 0;
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
            connect_forever(&addr, per_client);
        }
    }
    close(listener);
    signal(SIGTERM, SIG_DFL);
    while (wait(NULL) > 0) {}
    return 0;
}
