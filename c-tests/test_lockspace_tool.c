/* test_lockspace_tool.c: a C tool locks a domain's disks from its XML in its own
 * process with the existing API, exactly as README "Operating lockspace" shows
 * (virDomainDefParseFile, virDomainObjNew, vm->pid = getpid(),
 * virDomainLockProcessStart): a guest start of the same domain (another process) is
 * refused naming the tool and its pid, so is `virtcore-lock run`; `virtcore-lock who`
 * and `status --json` name it; a <readonly/> disk and a cdrom are not locked; once the
 * tool exits, the disks are free and the guest starts. A guest started paused shows as
 * "registered (paused)" and `run` is refused on its disk unless --readonly. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

static char dir[] = "/tmp/vc-locktool-XXXXXX";
static char conf[4200], lsdir[4200], xmlpath[4200], disk[4200], ro[4200], iso[4200], tool[4200];

static void touch(const char *p)
{
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    fclose(f);
}

/* The tool of the README, in its own process: returns what lock_domain() returned
 * through `ready`, then works (here: waits) until `go` closes, then exits. */
static int lock_domain(const char *confdir, const char *xmlfile, pid_t pid, bool paused)
{
    virLockManagerPlugin *plugin = virLockManagerPluginNew("lockspace", "qemu", confdir, 0);
    virDomainXMLOption *xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL);
    virDomainDef *def = NULL;
    virDomainObj *vm = NULL;
    int ret = -1;

    if (!plugin || !xmlopt)
        goto cleanup;
    if (!(def = virDomainDefParseFile(xmlfile, xmlopt, NULL, 0)))
        goto cleanup;
    if (!(vm = virDomainObjNew(xmlopt)))
        goto cleanup;
    vm->def = def; /* the object owns it now */
    def = NULL;
    vm->pid = pid; /* the locks belong to this process: they go when it exits */
    /* Every disk and lease, as libvirt's start takes them (paused=false: locked now;
     * true: registered only, as libvirt's start of a guest that stays paused). */
    ret = virDomainLockProcessStart(plugin, NULL, vm, paused, NULL);
cleanup:
    if (ret < 0)
        fprintf(stderr, "cannot lock the domain's disks: %s\n", virGetLastErrorMessage());
    virDomainDefFree(def);
    virDomainObjEndAPI(&vm);
    virObjectUnref(xmlopt);
    virLockManagerPluginUnref(plugin); /* stays loaded while it holds locks */
    return ret;
}

static int sh(const char *fmt, const char *arg)
{
    char cmd[9000];
    int st;
    snprintf(cmd, sizeof(cmd), fmt, tool, conf, arg);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *p)
{
    static char buf[65536];
    FILE *f = fopen(p, "r");
    size_t n;
    CHECK(f != NULL);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* A guest started paused (libvirt's start: registered, no lock) in its own process:
 * `who` and `status` show it as "registered (paused)"; `run` is refused naming it (it
 * still has the disk open), except --readonly; another guest may start on the disk,
 * as with virtlockd; once the guest is gone, `run` succeeds. */
static void paused_guest(void)
{
    char xml2[4300], disk2[4300], out[4300], cmd[9000], pidtext[64], c, *text;
    int ready[2], go[2], status;
    FILE *f;
    pid_t pid;

    snprintf(disk2, sizeof(disk2), "%s/vm2.img", dir);
    touch(disk2);
    snprintf(xml2, sizeof(xml2), "%s/vm2.xml", dir);
    CHECK((f = fopen(xml2, "w")) != NULL);
    fprintf(f,
            "<domain type='qemu'><name>vm2</name>\n"
            "  <uuid>5ad3f9de-5b1e-4a2a-9c3e-0d6f2c1b7e02</uuid>\n"
            "  <memory unit='KiB'>65536</memory>\n"
            "  <devices><disk type='file' device='disk'><source file='%s'/>"
            "<target dev='vda' bus='virtio'/></disk></devices>\n"
            "</domain>\n",
            disk2);
    fclose(f);
    CHECK(pipe(ready) == 0 && pipe(go) == 0);
    fflush(NULL);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        c = lock_domain(dir, xml2, getpid(), true) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1)
            _exit(2);
        if (read(go[0], &c, 1) < 0) /* paused until the test is done */
            _exit(3);
        _exit(0);
    }
    close(go[0]);
    CHECK(read(ready[0], &c, 1) == 1 && c == 'y');
    snprintf(pidtext, sizeof(pidtext), "pid %d", (int)pid);
    snprintf(out, sizeof(out), "%s/paused.out", dir);

    snprintf(cmd, sizeof(cmd), "%%s --config %%s who %%s > %s", out);
    CHECK(sh(cmd, disk2) == 1);
    text = slurp(out);
    CHECK(strstr(text, "held registered (paused) by vm2") != NULL);
    CHECK(strstr(text, pidtext) != NULL);
    snprintf(cmd, sizeof(cmd), "%%s --config %%s status --json > %s%%s", out);
    CHECK(sh(cmd, "") == 0);
    text = slurp(out);
    CHECK(strstr(text, "\"mode\": \"registered (paused)\"") != NULL);
    CHECK(strstr(text, "5ad3f9de-5b1e-4a2a-9c3e-0d6f2c1b7e02") != NULL);
    /* run: refused (75) naming the paused guest, with --shared too; --readonly runs. */
    snprintf(cmd, sizeof(cmd), "%%s --config %%s run --disk %%s -- true 2> %s", out);
    CHECK(sh(cmd, disk2) == 75);
    text = slurp(out);
    CHECK(strstr(text, "in use by paused guest vm2") != NULL);
    CHECK(strstr(text, pidtext) != NULL);
    snprintf(cmd, sizeof(cmd), "%%s --config %%s run --shared --disk %%s -- true 2> %s", out);
    CHECK(sh(cmd, disk2) == 75);
    snprintf(cmd, sizeof(cmd), "%%s --config %%s run --wait 0.1 --disk %%s -- true 2> %s", out);
    CHECK(sh(cmd, disk2) == 75);
    CHECK(strstr(slurp(out), "still held after --wait") != NULL);
    snprintf(cmd, sizeof(cmd), "%%s --config %%s run --readonly --disk %%s -- true 2> %s", out);
    CHECK(sh(cmd, disk2) == 0);

    /* The paused guest is gone: free for a tool again. */
    close(go[1]);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(cmd, sizeof(cmd), "%%s --config %%s who %%s > %s", out);
    CHECK(sh(cmd, disk2) == 0);
    snprintf(cmd, sizeof(cmd), "%%s --config %%s run --disk %%s -- true 2> %s", out);
    CHECK(sh(cmd, disk2) == 0);
}

int main(void)
{
    char top[4096], out[4300], pidtext[64], cmd[9000], *text;
    const char *so = LOCKSPACE_SO;
    int ready[2], go[2], status;
    char c;
    FILE *f;
    pid_t pid;

    if (access(so, R_OK) != 0)
        SKIP("lockspace.so not built");
    /* TOP/build/lock-driver/lockspace.so -> TOP/target/release/virtcore-lock */
    snprintf(top, sizeof(top), "%.*s", (int)(strstr(so, "/build/lock-driver/") - so), so);
    snprintf(tool, sizeof(tool), "%s/target/release/virtcore-lock", top);
    if (access(tool, X_OK) != 0)
        SKIP("virtcore-lock not built (make)");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(lsdir, sizeof(lsdir), "%s/lockspace", dir);
    CHECK(mkdir(lsdir, 0700) == 0);
    snprintf(conf, sizeof(conf), "%s/qemu-lockspace.conf", dir);
    CHECK((f = fopen(conf, "w")) != NULL);
    fprintf(f, "lockspace_dir = \"%s\"\n", lsdir);
    fclose(f);
    snprintf(disk, sizeof(disk), "%s/vm1.img", dir);
    snprintf(ro, sizeof(ro), "%s/data.img", dir);
    snprintf(iso, sizeof(iso), "%s/install.iso", dir);
    touch(disk);
    touch(ro);
    touch(iso);
    snprintf(xmlpath, sizeof(xmlpath), "%s/vm1.xml", dir);
    CHECK((f = fopen(xmlpath, "w")) != NULL);
    fprintf(f,
            "<domain type='qemu'>\n"
            "  <name>vm1</name>\n"
            "  <uuid>5ad3f9de-5b1e-4a2a-9c3e-0d6f2c1b7e01</uuid>\n"
            "  <memory unit='KiB'>65536</memory>\n"
            "  <devices>\n"
            "    <disk type='file' device='disk'><source file='%s'/><target dev='vda' bus='virtio'/></disk>\n"
            "    <disk type='file' device='disk'><source file='%s'/><target dev='vdb' bus='virtio'/><readonly/></disk>\n"
            "    <disk type='file' device='cdrom'><source file='%s'/><target dev='hdc' bus='ide'/><readonly/></disk>\n"
            "  </devices>\n"
            "</domain>\n",
            disk, ro, iso);
    fclose(f);
    {
        char d[4200];
        snprintf(d, sizeof(d), "%s/build/lock-driver", top);
        setenv("VIRTCORE_LOCK_DRIVER_DIR", d, 1);
    }

    CHECK(pipe(ready) == 0 && pipe(go) == 0);
    fflush(NULL);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* The tool's process. */
        close(go[1]);
        c = lock_domain(dir, xmlpath, getpid(), false) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1)
            _exit(2);
        /* ... the tool works on the disks here (qemu-img, a backup) ... */
        if (read(go[0], &c, 1) < 0)
            _exit(3);
        _exit(0);
    }
    close(go[0]);
    CHECK(read(ready[0], &c, 1) == 1 && c == 'y');
    snprintf(pidtext, sizeof(pidtext), "pid %d", (int)pid);

    /* virtcore-lock sees the tool as the holder, with its name and pid. */
    snprintf(out, sizeof(out), "%s/who.out", dir);
    snprintf(cmd, sizeof(cmd), "%%s --config %%s who %%s > %s", out);
    CHECK(sh(cmd, disk) == 1);
    text = slurp(out);
    CHECK(strstr(text, "held exclusive by vm1") != NULL);
    CHECK(strstr(text, pidtext) != NULL);
    snprintf(cmd, sizeof(cmd), "%%s --config %%s who %%s > %s", out);
    CHECK(sh(cmd, ro) == 0);
    CHECK(sh(cmd, iso) == 0);
    snprintf(cmd, sizeof(cmd), "%%s --config %%s status --json > %s%%s", out);
    CHECK(sh(cmd, "") == 0);
    text = slurp(out);
    CHECK(strstr(text, "\"name\": \"vm1\"") != NULL);
    CHECK(strstr(text, "5ad3f9de-5b1e-4a2a-9c3e-0d6f2c1b7e01") != NULL);
    /* A tool of the other kind is refused (75), naming it. */
    snprintf(cmd, sizeof(cmd), "%%s --config %%s run --disk %%s -- true 2> %s", out);
    CHECK(sh(cmd, disk) == 75);
    CHECK(strstr(slurp(out), "locked by guest 'vm1'") != NULL);

    /* The guest starting meanwhile, in another process: refused, naming the tool. */
    {
        virLockManagerPlugin *plugin = virLockManagerPluginNew("lockspace", "qemu", dir, 0);
        virDomainXMLOption *xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL);
        virDomainDef *def = virDomainDefParseFile(xmlpath, xmlopt, NULL, 0);
        virDomainObj *vm = virDomainObjNew(xmlopt);
        CHECK(plugin && def && vm);
        vm->def = def;
        vm->pid = getpid();
        CHECK(virDomainLockProcessStart(plugin, NULL, vm, false, NULL) == -1);
        CHECK_ERROR(VIR_ERR_RESOURCE_BUSY, "locked by guest 'vm1'");
        CHECK_ERROR(VIR_ERR_RESOURCE_BUSY, pidtext);

        /* The tool exits: its locks go with it; the guest runs. */
        close(go[1]);
        CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK(virDomainLockProcessStart(plugin, NULL, vm, false, NULL) == 0);
        snprintf(cmd, sizeof(cmd), "%%s --config %%s who %%s > %s", out);
        CHECK(sh(cmd, disk) == 1);
        snprintf(pidtext, sizeof(pidtext), "pid %d", (int)getpid());
        CHECK(strstr(slurp(out), pidtext) != NULL);
        virDomainObjEndAPI(&vm);
        virObjectUnref(xmlopt);
        virLockManagerPluginUnref(plugin);
    }
    paused_guest();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    TEST_DONE();
}
