/* lockspace driver: the plugin's ABI and exports, drvInit's configuration (defaults,
 * missing lockspace dir created, non-directory / unwritable / writable by others /
 * foreign-owned lockspace dir refused, bad conf syntax, 100k nested lists, unreadable conf)
 * and argument validation of every callback (NULL manager, unknown flags, unknown
 * parameter types, missing parameters). */
#include "test_lockspace_util.h"
#include <sched.h>
#include <sys/mount.h>

/* Runs drvInit with a config file holding `text` and expects `code` and `needle`
 * (code 0: success, then deinit again). */
static void init_with(const char *text, int code, const char *needle)
{
    const char *conf = ls_path("case.conf");
    ls_write_file(conf, text);
    virResetLastError();
    int rc = drv->drvInit(LS_VERSION, conf, 0);
    if (code == 0) {
        CHECK(rc == 0);
        CHECK(drv->drvDeinit() == 0);
        return;
    }
    CHECK(rc == -1);
    CHECK_ERROR(code, needle);
    CHECK(virGetLastError()->domain == LS_FROM_LOCKING);
}

/* In a child running as nobody: drvInit must fail with `code` naming `needle`. */
static void init_as_nobody(const char *conf, int code, const char *needle)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(77);
        virResetLastError();
        if (drv->drvInit(LS_VERSION, conf, 0) != -1)
            _exit(2);
        if (virGetLastErrorCode() != code || !strstr(virGetLastErrorMessage(), needle)) {
            fprintf(stderr, "as nobody: [%d] %s\n", virGetLastErrorCode(),
                    virGetLastErrorMessage());
            _exit(3);
        }
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77 && getuid() != 0)
        return; /* not root: cannot switch to nobody, the case does not apply */
    CHECK(WEXITSTATUS(status) == 0);
}

/* The default lockspace directory (NULL or missing config file) is created when missing,
 * 0700, and not under a parent writable by others. Run in a child with a private
 * /var/lib (a tmpfs in its own mount namespace), so nothing on the machine changes. */
static void default_dir_cases(void)
{
    const char *def = "/var/lib/virtcore/lockspace";
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("none", "/var/lib", "tmpfs", 0, "mode=0755") != 0)
            _exit(77);
        struct stat st;
        CHECK(drv->drvInit(LS_VERSION, NULL, 0) == 0 && drv->drvDeinit() == 0);
        CHECK(stat(def, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
        CHECK(stat("/var/lib/virtcore", &st) == 0 && (st.st_mode & 07777) == 0755);
        CHECK(drv->drvInit(LS_VERSION, ls_path("no-such.conf"), 0) == 0);
        CHECK(drv->drvDeinit() == 0);
        /* Missing under a parent other users may write to: not created, and said so. */
        CHECK(rmdir(def) == 0 && rmdir("/var/lib/virtcore") == 0);
        CHECK(chmod("/var/lib", 0777) == 0);
        CHECK(drv->drvInit(LS_VERSION, NULL, 0) == -1);
        CHECK_ERROR(LS_ERR_CONFIG_UNSUPPORTED, "'/var/lib/virtcore/lockspace' is missing");
        CHECK_CONTAINS(virGetLastErrorMessage(), "'/var/lib' is writable by other users");
        CHECK(stat("/var/lib/virtcore", &st) != 0);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        printf("# default directory cases skipped: need root for a private /var/lib\n");
        return;
    }
    CHECK(WEXITSTATUS(status) == 0);
}

int main(void)
{
    char text[PATH_MAX * 2];
    ls_load();

    /* The table: ABI 1.0.0, uses state, every callback set. */
    CHECK(drv->version == LS_VERSION);
    CHECK(drv->flags == LS_USES_STATE);
    CHECK(drv->drvInit && drv->drvDeinit && drv->drvNew && drv->drvFree &&
          drv->drvAddResource && drv->drvAcquire && drv->drvRelease && drv->drvInquire);
    /* The plugin exports exactly one symbol. */
    FILE *nm = popen("nm -D --defined-only " LOCKSPACE_SO, "r");
    CHECK(nm != NULL);
    char line[512];
    int nsyms = 0, found = 0;
    while (fgets(line, sizeof(line), nm)) {
        nsyms++;
        found |= strstr(line, " virLockDriverImpl") != NULL;
    }
    CHECK(pclose(nm) == 0);
    CHECK(found && nsyms == 1);

    /* No manager before drvInit. */
    CHECK(ls_new("early", 1) == NULL);
    CHECK_ERROR(LS_ERR_OPERATION_INVALID, "not initialized");

    /* drvInit: flags, ABI version. */
    CHECK(drv->drvInit(LS_VERSION, ls_conf, 1) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "flags (0x1)");
    CHECK(drv->drvInit(2000000, ls_conf, 0) == -1);
    CHECK_ERROR(LS_ERR_CONFIG_UNSUPPORTED, "2000000");

    default_dir_cases();

    /* Lockspace directory: missing (created 0700, with its missing parents), not a
     * directory, relative. */
    struct stat st;
    snprintf(text, sizeof(text), "lockspace_dir = \"%s\"\n", ls_path("new/missing-dir"));
    init_with(text, 0, NULL);
    CHECK(stat(ls_path("new/missing-dir"), &st) == 0 && (st.st_mode & 07777) == 0700);
    /* Writable by other users (or the group), even sticky: refused, naming it and its
     * mode, since anyone could replace or pre-create its lease files. */
    const char *open_dir = ls_path("open-dir");
    CHECK(mkdir(open_dir, 0700) == 0);
    snprintf(text, sizeof(text), "lockspace_dir = \"%s\"\n", open_dir);
    static const struct { mode_t mode; const char *text; } modes[] = {
        {0777, "(mode 0777)"}, {0775, "(mode 0775)"}, {0702, "(mode 0702)"}, {01777, "(mode 1777)"},
    };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        CHECK(chmod(open_dir, modes[i].mode) == 0);
        init_with(text, LS_ERR_CONFIG_UNSUPPORTED, "is writable by other users");
        CHECK_CONTAINS(virGetLastErrorMessage(), open_dir);
        CHECK_CONTAINS(virGetLastErrorMessage(), modes[i].text);
    }
    CHECK(chmod(open_dir, 0755) == 0);
    init_with(text, 0, NULL);
    /* Owned by another (non-root) user: refused as well. */
    if (getuid() == 0) {
        CHECK(chown(open_dir, 65534, 65534) == 0);
        init_with(text, LS_ERR_CONFIG_UNSUPPORTED, "owned by uid 65534");
        CHECK(chown(open_dir, 0, 0) == 0);
    }
    snprintf(text, sizeof(text), "lockspace_dir = '%s'\n", ls_conf);
    init_with(text, LS_ERR_CONFIG_UNSUPPORTED, "is not a directory");
    init_with("lockspace_dir = \"relative/dir\"\n", LS_ERR_CONFIG_UNSUPPORTED,
              "not an absolute path");
    /* Syntax: the message names the file and the line. */
    init_with("# fine\nlockspace_dir = \"/tmp\nx = 1\n", LS_ERR_CONF_SYNTAX, "line 2");
    CHECK_CONTAINS(virGetLastErrorMessage(), ls_path("case.conf"));
    init_with("lockspace_dir \"/tmp\"\n", LS_ERR_CONF_SYNTAX, "expected '='");
    init_with("lockspace_dir = /tmp\n", LS_ERR_CONF_SYNTAX, "expected a value");
    init_with("lockspace_dir = 42\n", LS_ERR_CONF_SYNTAX, "expected a string");
    init_with("list = [ \"a\" \"b\" ]\n", LS_ERR_CONF_SYNTAX, "line 1");
    /* 100k nested lists: an error, never a stack overflow. */
    char *deep = malloc(100016);
    CHECK(deep != NULL);
    memcpy(deep, "x = ", 4);
    memset(deep + 4, '[', 100000);
    strcpy(deep + 100004, "\n");
    init_with(deep, LS_ERR_CONF_SYNTAX, "lists nested more than 16 deep");
    free(deep);
    /* Valid syntax with other settings (ignored), lists, ';' separators. */
    snprintf(text, sizeof(text),
             "# comment\nother = [ \"a\",\n  \"b\" ]; n = -3\nlockspace_dir = \"%s\" # here\n",
             ls_leases);
    init_with(text, 0, NULL);

    /* Unwritable lockspace directory, unreadable config (as an unprivileged user). */
    const char *ro = ls_path("readonly-dir");
    CHECK(mkdir(ro, 0755) == 0);
    const char *roconf = ls_path("ro.conf");
    snprintf(text, sizeof(text), "lockspace_dir = \"%s\"\n", ro);
    ls_write_file(roconf, text);
    CHECK(chmod(roconf, 0644) == 0);
    init_as_nobody(roconf, LS_ERR_SYSTEM, ro);
    init_as_nobody(roconf, LS_ERR_SYSTEM, "not writable");
    CHECK(chmod(roconf, 0600) == 0);
    init_as_nobody(roconf, LS_ERR_SYSTEM, "cannot read config file");

    /* Initialized from here on; inits are counted, each deinit undoes one. */
    CHECK(drv->drvInit(LS_VERSION, ls_conf, 0) == 0);
    CHECK(drv->drvInit(LS_VERSION, ls_conf, 0) == 0);
    CHECK(drv->drvDeinit() == 0);

    /* drvNew. */
    ls_param p[6];
    memset(p, 0, sizeof(p));
    p[0].type = LS_PARAM_UUID; p[0].key = "uuid"; memset(p[0].value.uuid, 5, 16);
    p[1].type = LS_PARAM_STRING; p[1].key = "name"; p[1].value.cstr = "vm";
    ls_manager man = { drv, NULL };
    CHECK(drv->drvNew(NULL, 0, 2, p, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "'man' is NULL");
    CHECK(drv->drvNew(&man, 0, 2, p, 2) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "flags (0x2)");
    CHECK(drv->drvNew(&man, 1, 2, p, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "object type 1");
    CHECK(drv->drvNew(&man, 0, 2, NULL, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "params is NULL");
    CHECK(drv->drvNew(&man, 0, 1, p, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "missing 'name'");
    CHECK(drv->drvNew(&man, 0, 1, p + 1, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "'uuid'");
    p[2].type = LS_PARAM_STRING; p[2].key = "colour"; p[2].value.cstr = "red";
    CHECK(drv->drvNew(&man, 0, 3, p, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "unexpected parameter 'colour'");
    p[2].type = 99; p[2].key = "id";
    CHECK(drv->drvNew(&man, 0, 3, p, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "unknown type 99");
    p[2].type = LS_PARAM_UINT; p[2].key = NULL;
    CHECK(drv->drvNew(&man, 0, 3, p, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "NULL key");
    p[2].type = LS_PARAM_DOUBLE; p[2].key = "pid"; p[2].value.d = 1.5;
    CHECK(drv->drvNew(&man, 0, 3, p, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "'pid'");
    p[0].type = LS_PARAM_STRING;
    CHECK(drv->drvNew(&man, 0, 2, p, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "'uuid' must be a UUID");
    p[0].type = LS_PARAM_UUID; memset(p[0].value.uuid, 0, 16);
    CHECK(drv->drvNew(&man, 0, 2, p, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "all-zero 'uuid'");
    memset(p[0].value.uuid, 5, 16);
    p[2].type = LS_PARAM_UINT; p[2].key = "id"; p[2].value.ui = 3;
    p[3].type = LS_PARAM_INT; p[3].key = "pid"; p[3].value.iv = getpid();
    p[4].type = LS_PARAM_CSTRING; p[4].key = "uri"; p[4].value.cstr = "qemu:///system";
    CHECK(man.privateData == NULL);
    CHECK(drv->drvNew(&man, 0, 5, p, LS_NEW_STARTED) == 0);
    CHECK(man.privateData != NULL);

    /* drvAddResource. */
    const char *disk = ls_disk_file("v.img");
    ls_manager empty = { drv, NULL };
    CHECK(drv->drvAddResource(NULL, LS_RES_DISK, disk, 0, NULL, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "'man' is NULL");
    CHECK(drv->drvAddResource(&empty, LS_RES_DISK, disk, 0, NULL, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "drvNew not called");
    CHECK(drv->drvAddResource(&man, LS_RES_DISK, NULL, 0, NULL, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "resource name is NULL");
    CHECK(drv->drvAddResource(&man, LS_RES_DISK, disk, 0, NULL, 4) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "flags (0x4)");
    CHECK(drv->drvAddResource(&man, 9, disk, 0, NULL, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "unknown resource type 9");
    CHECK(drv->drvAddResource(&man, LS_RES_DISK, disk, 1, p + 4, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "unexpected parameter 'uri' for disk");
    CHECK(drv->drvAddResource(&man, LS_RES_DISK, "disk.img", 0, NULL, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "'disk.img' is not absolute");
    CHECK(drv->drvAddResource(&man, LS_RES_DISK, disk, 0, NULL, 0) == 0);
    CHECK(drv->drvAddResource(&man, LS_RES_DISK, disk, 0, NULL, LS_SHARED) == 0);

    /* drvAcquire / drvInquire / drvRelease. */
    int fd = 5;
    CHECK(drv->drvAcquire(NULL, NULL, 0, 0, &fd) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "'man' is NULL");
    CHECK(fd == -1);
    CHECK(drv->drvAcquire(&empty, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "drvNew not called");
    CHECK(drv->drvAcquire(&man, NULL, 4, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "flags (0x4)");
    char *state = (char *)"junk";
    CHECK(drv->drvInquire(NULL, &state, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "'man' is NULL");
    CHECK(state == NULL);
    CHECK(drv->drvInquire(&man, &state, 1) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "flags (0x1)");
    CHECK(drv->drvRelease(NULL, &state, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "'man' is NULL");
    CHECK(drv->drvRelease(&man, NULL, 1) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "flags (0x1)");
    CHECK(drv->drvAcquire(&man, "", 0, 3 /* PAUSE: ignored */, &fd) == 0);
    CHECK(fd == -1);
    CHECK(drv->drvInquire(&man, &state, 0) == 0);
    CHECK(state != NULL && strncmp(state, "lockspace/1;d:x:1:", 18) == 0); /* exclusive won */
    free(state);
    CHECK(drv->drvInquire(&man, NULL, 0) == 0);
    CHECK(drv->drvAcquire(&man, NULL, 0, 0, NULL) == 0); /* already held: no-op */
    CHECK(drv->drvRelease(&man, &state, 0) == 0);
    CHECK(state != NULL);
    free(state);
    CHECK(drv->drvRelease(&man, &state, 0) == 0); /* nothing held: no state */
    CHECK(state == NULL);

    /* drvFree: NULL, a manager without data, twice. */
    drv->drvFree(NULL);
    drv->drvFree(&empty);
    drv->drvFree(&man);
    CHECK(man.privateData == NULL);
    drv->drvFree(&man);

    /* The last drvDeinit refuses (-1, no error: "keep me loaded") while this process
     * holds locks, and the driver keeps working; after the release it succeeds. */
    ls_manager *held = ls_new("holder", 9);
    CHECK(held != NULL && ls_add_disk(held, disk, 0) == 0);
    CHECK(drv->drvAcquire(held, NULL, 0, 0, NULL) == 0);
    ls_free(held);
    virResetLastError();
    CHECK(drv->drvDeinit() == -1);
    CHECK(virGetLastErrorCode() == 0);
    held = ls_new("holder", 9);
    CHECK(held != NULL);
    CHECK(drv->drvRelease(held, NULL, 0) == 0); /* all of the guest's locks */
    ls_free(held);
    CHECK(drv->drvDeinit() == 0);
    CHECK(ls_new("late", 1) == NULL); /* deinitialized */
    CHECK_ERROR(LS_ERR_OPERATION_INVALID, "not initialized");
    CHECK(drv->drvDeinit() == 0); /* more deinits than inits: harmless */
    TEST_DONE();
}
