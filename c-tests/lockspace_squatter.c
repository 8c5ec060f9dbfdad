/* lockspace_squatter: the other local user of test_lockspace_mailbox.c, run by it
 * through `setpriv --reuid=65534 --regid=65534 --clear-groups` (a copy of this program
 * in the test's 0755 tree, so that it runs wherever the checkout is). It links nothing
 * of virtcore. Usage: lockspace_squatter UUID PID LEASEDIR
 *
 * It does everything another user could to be taken for guest UUID running as PID:
 *   - binds the abstract name the driver used to give a guest's mailbox,
 *     "@virtcore-lockspace:UUID:PID" (a socket pair, like the real one);
 *   - makes a nameless socket pair shaped like today's mailbox: an identity message
 *     "virtcore-lockspace:UUID" carrying the other end, queued in the first end.
 * Then prints "ready BOUND" (BOUND: 1 if the name was free) and waits for commands
 * on stdin: "count" prints "got N", N the open files of LEASEDIR it holds (in its
 * descriptor table, or in flight in its sockets, which it drains); "quit" exits. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *leasedir;

static int is_lease_fd(int fd)
{
    char path[64], link[PATH_MAX];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n < 0)
        return 0;
    link[n] = 0;
    return strncmp(link, leasedir, strlen(leasedir)) == 0;
}

/* Lease files among this process's descriptors. */
static int lease_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && is_lease_fd(atoi(e->d_name)))
            n++;
    closedir(d);
    return n;
}

/* Takes every message waiting in `sock`; returns how many lease files they carried. */
static int drain(int sock)
{
    int n = 0;
    for (;;) {
        char buf[8192];
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(16 * sizeof(int))];
        } c;
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = c.space, .msg_controllen = sizeof(c.space)};
        if (recvmsg(sock, &msg, MSG_DONTWAIT) < 0)
            return n;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
            if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
                continue;
            int k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int *fds = (int *)CMSG_DATA(h);
            for (int i = 0; i < k; i++) {
                n += is_lease_fd(fds[i]);
                close(fds[i]);
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s UUID PID LEASEDIR\n", argv[0]);
        return 2;
    }
    leasedir = argv[3];
    setvbuf(stdout, NULL, _IONBF, 0);
    int named[2], forged[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, named) != 0 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET, 0, forged) != 0) {
        perror("socketpair");
        return 1;
    }
    /* The name the driver used to give guest UUID's mailbox in process PID. */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int len = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "virtcore-lockspace:%s:%s",
                       argv[1], argv[2]);
    int bound = bind(named[0], (struct sockaddr *)&sa,
                     offsetof(struct sockaddr_un, sun_path) + 1 + len) == 0;
    /* Today's mailbox, forged: the identity message, carrying the other end. */
    char label[128];
    snprintf(label, sizeof(label), "virtcore-lockspace:%s", argv[1]);
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int))];
    } c;
    memset(&c, 0, sizeof(c));
    struct iovec iov = {label, strlen(label)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = c.space, .msg_controllen = sizeof(c.space)};
    struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &forged[1], sizeof(int));
    if (sendmsg(forged[1], &msg, 0) < 0) {
        perror("sendmsg");
        return 1;
    }
    printf("ready %d\n", bound);
    char line[64];
    while (fgets(line, sizeof(line), stdin)) {
        if (strncmp(line, "count", 5) == 0) {
            int n = lease_fds();
            for (int i = 0; i < 2; i++)
                n += drain(named[i]) + drain(forged[i]);
            printf("got %d\n", n);
        } else if (strncmp(line, "quit", 4) == 0) {
            break;
        }
    }
    return 0;
}
