/* test_domain_valgrind.c: valgrind memcheck over the domain tests. Runs a shorter
 * test_domain_stress (1 s, 400 domains, four workers and the collector thread), then
 * test_domain_api_def, test_domain_api_list, test_domain_badxml, test_domain_misuse and
 * test_objects (double unrefs must not read freed memory), each under memcheck.
 * Fails on any memcheck error or definite leak (Rust's std in the cdylib may leave
 * "still reachable" blocks, which are not errors) and on the program's own failure, and
 * shows the first report. Skips if valgrind is absent. */
#define _GNU_SOURCE
#include <libgen.h>
#include <limits.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char bindir[PATH_MAX];

/* 0 when `prog` ran clean under memcheck */
static int run_memcheck(const char *prog)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", bindir, prog);
    if (access(path, X_OK) != 0) {
        fprintf(stderr, "%s is not built\n", path);
        return 1;
    }
    char log[] = "/tmp/vc-valgrind-XXXXXX";
    int fd = mkstemp(log);
    CHECK(fd >= 0);
    close(fd);
    char logopt[64];
    snprintf(logopt, sizeof(logopt), "--log-file=%s", log);

    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 1); /* the program's own report: only its failure matters here */
        setenv("STRESS_SECONDS", "1", 1);
        setenv("STRESS_DOMAINS", "400", 1);
        setenv("STRESS_WORKERS", "4", 1);
        execlp("valgrind", "valgrind", "--tool=memcheck", "--quiet", "--error-exitcode=99",
               logopt, "--leak-check=full", "--errors-for-leak-kinds=definite",
               "--show-leak-kinds=definite", "--track-origins=no", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    if (rc == 77) {
        /* the program skipped on a known, reported bug of the domain branch after running
         * all its checks; memcheck (exit 99 otherwise) found nothing */
        printf("%s: memcheck clean (the program reported known bugs)\n", prog);
        rc = 0;
    } else if (rc != 0) {
        /* the first report, with frames shortened to the function names (Rust's are long) */
        char cmd[256];
        snprintf(cmd, sizeof(cmd),
                 "sed -e 's/(library[^)]*)//; s/<[^>]*>//g' '%s' | cut -c1-160 | head -n 40 >&2",
                 log);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot show %s\n", log);
        fprintf(stderr, "%s under valgrind: %s (exit %d)\n", prog,
                rc == 99 ? "memory errors or definite leaks (above)" : "the program failed", rc);
    } else {
        printf("%s: memcheck clean\n", prog);
    }
    unlink(log);
    return rc;
}

int main(void)
{
    ssize_t n = readlink("/proc/self/exe", bindir, sizeof(bindir) - 1);
    CHECK(n > 0);
    bindir[n] = '\0';
    char *dir = dirname(bindir);
    memmove(bindir, dir, strlen(dir) + 1);
    if (system("valgrind --version >/dev/null 2>&1") != 0)
        SKIP("valgrind is not installed");

    static const char *progs[] = {"test_domain_stress", "test_domain_api_def",
                                  "test_domain_api_list", "test_domain_badxml",
                                  "test_domain_misuse", "test_objects"};
    int failed = 0;
    for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
        failed += run_memcheck(progs[i]) != 0;
    CHECK(failed == 0);
    TEST_DONE();
}
