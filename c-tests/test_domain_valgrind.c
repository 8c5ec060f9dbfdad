/* test_domain_valgrind.c: runs a shorter test_domain_stress (1 s, 400 domains, four
 * workers and the collector thread) under valgrind memcheck. Fails on any memcheck error
 * or definite leak (Rust's std in the cdylib may leave "still reachable" blocks, which
 * are not errors), and on the stress test's own failure. Skips if valgrind is absent. */
#define _GNU_SOURCE
#include <libgen.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

int main(void)
{
    char self[PATH_MAX], stress[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    CHECK(n > 0);
    self[n] = '\0';
    snprintf(stress, sizeof(stress), "%s/test_domain_stress", dirname(self));
    if (access(stress, X_OK) != 0)
        SKIP("bin/test_domain_stress is not built");
    if (system("valgrind --version >/dev/null 2>&1") != 0)
        SKIP("valgrind is not installed");

    char log[] = "/tmp/vc-valgrind-XXXXXX";
    int fd = mkstemp(log);
    CHECK(fd >= 0);
    close(fd);
    char logopt[64];
    snprintf(logopt, sizeof(logopt), "--log-file=%s", log);

    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        setenv("STRESS_SECONDS", "1", 1);
        setenv("STRESS_DOMAINS", "400", 1);
        setenv("STRESS_WORKERS", "4", 1);
        execlp("valgrind", "valgrind", "--tool=memcheck", "--quiet", "--error-exitcode=99", logopt,
               "--leak-check=full", "--errors-for-leak-kinds=definite",
               "--show-leak-kinds=definite", "--track-origins=no", stress, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0) {
        /* the first report, with frames shortened to the function names (Rust's are long) */
        char cmd[256];
        snprintf(cmd, sizeof(cmd),
                 "sed -e 's/(library[^)]*)//; s/<[^>]*>//g' '%s' | cut -c1-160 | head -n 40 >&2",
                 log);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot show %s\n", log);
        if (WEXITSTATUS(status) == 99)
            fprintf(stderr, "valgrind found memory errors or definite leaks (above)\n");
    }
    unlink(log);
    CHECK(WEXITSTATUS(status) == 0);
    TEST_DONE();
}
