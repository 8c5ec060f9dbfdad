/* test_domain_persist.c: what is saved comes back, loading reads regular files only, and
 * saves clean up after killed saves (issue 9 items 4-6).
 *
 *  4. every accepted name is saved and loaded again: ".web", ".", "..", names of 240 to
 *     251 bytes (the temporary file name no longer grows with the domain's name);
 *  5. LoadAllConfigs skips a FIFO and a symlink to /dev/zero with a warning naming each
 *     (no hang, no memory blow-up), refuses a file over VIRTCORE_DOMAIN_XML_MAX, follows a
 *     symlink to a regular file (as libvirt);
 *  6. an empty directory argument is refused; a save into a directory the daemon can write
 *     but not read succeeds (the new file is in place, so no error); temporary files left
 *     by 200 saves killed with SIGKILL are removed by the next save, the user's files stay. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define KILLS 200

static char base[] = "/tmp/vc-persist-XXXXXX";

static char *xml_named(const char *name, int n, int ndisks)
{
    size_t cap = 1024 + (size_t)ndisks * 160;
    char *xml = malloc(cap);
    CHECK(xml != NULL);
    int len = snprintf(xml, cap,
                       "<domain type='kvm'><name>%s</name>"
                       "<uuid>5e25a5e0-0000-4000-8000-%012d</uuid><devices>",
                       name, n);
    for (int i = 0; i < ndisks; i++)
        len += snprintf(xml + len, cap - (size_t)len,
                        "<disk type='file' device='disk'><source file='/img/%d.qcow2'/>"
                        "<target dev='vd%c%c' bus='virtio'/></disk>",
                        i, 'a' + i / 26 % 26, 'a' + i % 26);
    snprintf(xml + len, cap - (size_t)len, "</devices></domain>");
    return xml;
}

static virDomainDef *def_named(const char *name, int n)
{
    char *xml = xml_named(name, n, 0);
    virDomainDef *def = virDomainDefParseString(xml, NULL, NULL, 0);
    free(xml);
    return def;
}

static void path_in(char *out, size_t len, const char *dir, const char *file)
{
    snprintf(out, len, "%s/%s", dir, file);
}

static int exists(const char *dir, const char *file)
{
    char p[4096];
    struct stat st;
    path_in(p, sizeof(p), dir, file);
    return lstat(p, &st) == 0;
}

/* Our temporary files: ".vc-tmp-" and 6 letters or digits. */
static int is_tmp(const char *n)
{
    if (strncmp(n, ".vc-tmp-", 8) != 0 || strlen(n) != 14)
        return 0;
    for (int i = 8; i < 14; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
              (n[i] >= '0' && n[i] <= '9')))
            return 0;
    return 1;
}

static int count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += is_tmp(e->d_name);
    closedir(d);
    return n;
}

static int loaded;
static void on_load(virDomainObj *dom, int newDomain, void *opaque)
{
    loaded++;
}

static char warnings[8192];
static void log_cb(int priority, const char *source, const char *message, void *opaque)
{
    if (priority == VIR_LOG_WARN && strlen(warnings) + strlen(message) + 2 < sizeof(warnings)) {
        strcat(warnings, message);
        strcat(warnings, "\n");
    }
}

static int rename_cb(virDomainObj *dom, const char *new_name, unsigned int flags, void *opaque)
{
    free(dom->def->name);
    dom->def->name = strdup(new_name);
    return 0;
}

static void every_name_comes_back(void)
{
    char dir[4096];
    path_in(dir, sizeof(dir), base, "names");
    char n240[241], n251[252], n252[253];
    memset(n240, 'm', 240);
    n240[240] = 0;
    memset(n251, 'l', 251);
    n251[251] = 0;
    memset(n252, 'k', 252);
    n252[252] = 0;
    const char *names[] = {".web", ".", "..", "...", n240, n251, "plain", ".vc-tmp-abc123"};
    size_t nnames = sizeof(names) / sizeof(names[0]);
    for (size_t i = 0; i < nnames; i++) {
        virDomainDef *def = def_named(names[i], (int)i + 1);
        CHECK(def != NULL);
        CHECK(virDomainDefSave(def, NULL, dir) == 0);
        virDomainDefFree(def);
    }
    CHECK(exists(dir, ".web.xml") && exists(dir, "..xml") && exists(dir, "...xml"));
    CHECK(count_tmp(dir) == 0);

    virDomainObjList *doms = virDomainObjListNew();
    loaded = 0;
    CHECK(virDomainObjListLoadAllConfigs(doms, dir, NULL, false, NULL, on_load, NULL) == 0);
    CHECK(loaded == (int)nnames);
    for (size_t i = 0; i < nnames; i++) {
        virDomainObj *vm = virDomainObjListFindByName(doms, names[i]);
        CHECK(vm != NULL);
        CHECK(strcmp(vm->def->name, names[i]) == 0 && vm->persistent);
        virDomainObjEndAPI(&vm);
    }

    /* A name no file can take is refused where it enters: at parse and at rename. */
    CHECK(def_named(n252, 99) == NULL);
    CHECK_ERROR(VIR_ERR_XML_ERROR, "too long");
    virDomainObj *vm = virDomainObjListFindByName(doms, "plain");
    CHECK(virDomainObjListRename(doms, vm, n252, 0, rename_cb, NULL) == -1);
    CHECK_ERROR(VIR_ERR_XML_ERROR, "too long");
    CHECK(virDomainObjListRename(doms, vm, "a/b", 0, rename_cb, NULL) == -1);
    CHECK_ERROR(VIR_ERR_XML_ERROR, "cannot contain '/'");
    CHECK(strcmp(vm->def->name, "plain") == 0);
    virDomainObjEndAPI(&vm);
    virObjectUnref(doms);
}

static void only_regular_files(void)
{
    char dir[4096], p[4096], target[4096];
    path_in(dir, sizeof(dir), base, "special");
    CHECK(mkdir(dir, 0700) == 0);

    virDomainDef *def = def_named("good", 1);
    CHECK(virDomainDefSave(def, NULL, dir) == 0);
    virDomainDefFree(def);
    /* A symlink to a regular file elsewhere: followed, as libvirt does. */
    char other[4096];
    path_in(other, sizeof(other), base, "elsewhere");
    def = def_named("linked", 2);
    CHECK(virDomainDefSave(def, NULL, other) == 0);
    virDomainDefFree(def);
    path_in(target, sizeof(target), other, "linked.xml");
    path_in(p, sizeof(p), dir, "linked.xml");
    CHECK(symlink(target, p) == 0);

    path_in(p, sizeof(p), dir, "fifo.xml");
    CHECK(mkfifo(p, 0600) == 0);
    path_in(p, sizeof(p), dir, "zero.xml");
    CHECK(symlink("/dev/zero", p) == 0);
    path_in(p, sizeof(p), dir, "subdir.xml");
    CHECK(mkdir(p, 0700) == 0);
    /* One byte over the cap (sparse: costs no disk). */
    path_in(p, sizeof(p), dir, "big.xml");
    int fd = open(p, O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0 && ftruncate(fd, VIRTCORE_DOMAIN_XML_MAX + 1) == 0);
    close(fd);

    virtcoreLogSetCallback(log_cb, NULL);
    CHECK(virtcoreLogSetLevel(VIR_LOG_WARN) == 0);
    virDomainObjList *doms = virDomainObjListNew();
    loaded = 0;
    CHECK(virDomainObjListLoadAllConfigs(doms, dir, NULL, false, NULL, on_load, NULL) == 0);
    virtcoreLogSetCallback(NULL, NULL);
    CHECK(virtcoreLogSetLevel(VIRTCORE_LOG_OFF) == 0);
    CHECK(loaded == 2);
    /* The last failure in name order is the file over the cap. */
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "big.xml' is too large");
    CHECK(strstr(warnings, "fifo.xml' is a FIFO") != NULL);
    CHECK(strstr(warnings, "zero.xml' is a character device") != NULL);
    CHECK(strstr(warnings, "subdir.xml' is a directory") != NULL);
    virDomainObj *vm = virDomainObjListFindByName(doms, "linked");
    CHECK(vm != NULL);
    virDomainObjEndAPI(&vm);
    virObjectUnref(doms);

    /* The same for one file, and for status files. */
    path_in(p, sizeof(p), dir, "fifo.xml");
    CHECK(virDomainDefParseFile(p, NULL, NULL, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "is a FIFO");
    doms = virDomainObjListNew();
    CHECK(virDomainObjListLoadAllConfigs(doms, dir, NULL, true, NULL, NULL, NULL) == 0);
    virObjectUnref(doms);
}

static void empty_dirs_refused(void)
{
    virDomainDef *def = def_named("nowhere", 1);
    virDomainObj *vm = virDomainObjNew(NULL);
    vm->def = def;
    CHECK(virDomainDefSave(def, NULL, "") == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "configDir must not be an empty path");
    CHECK(virDomainSaveConfig("", NULL, def) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "configDir");
    CHECK(virDomainObjSave(vm, NULL, "") == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "statusDir must not be an empty path");
    CHECK(virDomainSaveStatus(NULL, "", vm, NULL) == -1);
    CHECK(virDomainDeleteConfig("", "/tmp", vm) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "configDir");
    CHECK(virDomainDeleteConfig("/tmp", "", vm) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "autostartDir");
    virDomainObjList *doms = virDomainObjListNew();
    CHECK(virDomainObjListLoadAllConfigs(doms, "", NULL, false, NULL, NULL, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "configDir");
    CHECK(virDomainObjListLoadAllConfigs(doms, "/nonexistent-vc", "", false, NULL, NULL,
                                         NULL) == -1);
    virObjectUnref(doms);
    CHECK(access("nowhere.xml", F_OK) != 0);
    virDomainObjEndAPI(&vm);
}

/* Run as root: a child that is not root saves into a directory it may write and enter but
 * not read, as a daemon with such a config directory would. */
static void unreadable_dir(void)
{
    if (geteuid() != 0) {
        printf("not root: unreadable-directory save not tested\n");
        return;
    }
    char dir[4096];
    path_in(dir, sizeof(dir), base, "wonly");
    CHECK(mkdir(dir, 0300) == 0 && chown(dir, 65534, 65534) == 0 && chmod(dir, 0300) == 0);
    CHECK(chmod(base, 0711) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        virDomainDef *def = def_named("wonly", 1);
        _exit(def && virDomainDefSave(def, NULL, dir) == 0 ? 0 : 1);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(exists(dir, "wonly.xml"));
    char p[4096];
    path_in(p, sizeof(p), dir, "wonly.xml");
    virDomainDef *def = virDomainDefParseFile(p, NULL, NULL, 0);
    CHECK(def != NULL && strcmp(def->name, "wonly") == 0);
    virDomainDefFree(def);
    CHECK(chmod(base, 0700) == 0);
}

static void killed_saves_are_cleaned_up(void)
{
    char dir[4096];
    path_in(dir, sizeof(dir), base, "kills");
    char *xml = xml_named("victim", 7, 2000);
    virDomainDef *def = virDomainDefParseString(xml, NULL, NULL, 0);
    CHECK(def != NULL);
    CHECK(virDomainDefSave(def, NULL, dir) == 0);
    unsigned seed = (unsigned)getpid();
    /* Each child's first save removes what the previous kill left: count after each. */
    int left = 0;
    for (int k = 0; k < KILLS; k++) {
        int ready[2];
        CHECK(pipe(ready) == 0);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            close(ready[0]);
            (void)!write(ready[1], "x", 1);
            for (;;)
                virDomainDefSave(def, NULL, dir);
        }
        close(ready[1]);
        char c;
        CHECK(read(ready[0], &c, 1) == 1);
        close(ready[0]);
        struct timespec ts = {0, (long)(rand_r(&seed) % 5000) * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        CHECK(waitpid(pid, NULL, 0) == pid);
        left += count_tmp(dir) > 0;
    }
    printf("%d of %d killed saves left a temporary file\n", left, KILLS);
    left = count_tmp(dir);

    /* The user's files, some looking almost like ours, and a directory with our name. */
    const char *user[] = {".vc-tmp-abc12", ".vc-tmp-abc1234", ".vc-tmp-abc123.xml",
                          "notes.txt", ".hidden", "vc-tmp-abc123"};
    for (size_t i = 0; i < sizeof(user) / sizeof(user[0]); i++) {
        char p[4096];
        path_in(p, sizeof(p), dir, user[i]);
        FILE *f = fopen(p, "w");
        CHECK(f != NULL);
        fputs("mine\n", f);
        fclose(f);
    }
    char p[4096];
    path_in(p, sizeof(p), dir, ".vc-tmp-dir000");
    CHECK(mkdir(p, 0700) == 0);
    /* A leftover made by hand, in case no kill hit a save in flight. */
    path_in(p, sizeof(p), dir, ".vc-tmp-Zz9Zz9");
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    fclose(f);
    CHECK(count_tmp(dir) == left + 2);

    CHECK(virDomainDefSave(def, NULL, dir) == 0);
    CHECK(count_tmp(dir) == 1); /* only the directory */
    for (size_t i = 0; i < sizeof(user) / sizeof(user[0]); i++)
        CHECK(exists(dir, user[i]));
    CHECK(exists(dir, ".vc-tmp-dir000"));
    path_in(p, sizeof(p), dir, "victim.xml");
    virDomainDef *back = virDomainDefParseFile(p, NULL, NULL, 0);
    CHECK(back != NULL && back->ndisks == 2000);
    virDomainDefFree(back);
    virDomainDefFree(def);
    free(xml);
}

int main(void)
{
    alarm(300); /* a hang (e.g. opening a FIFO) fails instead of blocking the run */
    CHECK(mkdtemp(base) != NULL);
    every_name_comes_back();
    only_regular_files();
    empty_dirs_refused();
    unreadable_dir();
    killed_saves_are_cleaned_up();
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    CHECK(system(cmd) == 0);
    TEST_DONE();
}
