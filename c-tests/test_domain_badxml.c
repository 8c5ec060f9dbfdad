/* test_domain_badxml.c: every document of the malformed corpus (data/domain-bad, every .xml file)
 * is refused with an error and a message, from a string and from a file (whose error
 * names the file), never a crash. Then LoadAllConfigs over a directory holding two good
 * configs and every malformed one loads the good ones, skips each bad one and reports
 * it (error log naming the file, last error naming a bad file); the same with status
 * files (liveStatus). Debian's libvirt 9.0 also refuses every file of this corpus
 * (test_domain_conformance compares). */
#define _GNU_SOURCE
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define MAXFILES 128

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    CHECK(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    CHECK(buf != NULL);
    CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void copy_file(const char *from, const char *to)
{
    size_t len = 0;
    char *buf = read_all(from, &len);
    FILE *f = fopen(to, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(buf, 1, len, f) == len);
    CHECK(fclose(f) == 0);
    free(buf);
}

/* error-level log lines, collected by the C log callback */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char *logged;
static size_t logged_len;

static void log_cb(int priority, const char *source, const char *message, void *opaque)
{
    if (priority < VIR_LOG_ERROR)
        return;
    pthread_mutex_lock(&log_mu);
    size_t n = strlen(message);
    char *p = realloc(logged, logged_len + n + 2);
    if (p) {
        logged = p;
        memcpy(logged + logged_len, message, n);
        logged[logged_len + n] = '\n';
        logged[logged_len + n + 1] = '\0';
        logged_len += n + 1;
    }
    pthread_mutex_unlock(&log_mu);
}

static const char *good_xml(int k, char *buf, size_t len, int id)
{
    char idattr[32] = "";
    if (id > 0)
        snprintf(idattr, sizeof(idattr), " id='%d'", id);
    snprintf(buf, len,
             "<domain type='kvm'%s><name>good%d</name>"
             "<uuid>600d600d-0000-4000-8000-00000000000%d</uuid>"
             "<memory unit='KiB'>65536</memory></domain>\n",
             idattr, k, k);
    return buf;
}

int main(void)
{
    char self[PATH_MAX], corpus[PATH_MAX + 64];
    ssize_t sn = readlink("/proc/self/exe", self, sizeof(self) - 1);
    CHECK(sn > 0);
    self[sn] = '\0';
    snprintf(corpus, sizeof(corpus), "%s/../data/domain-bad", dirname(self));

    struct dirent **ents = NULL;
    int n = scandir(corpus, &ents, NULL, alphasort);
    CHECK(n > 0);
    char *bad[MAXFILES];
    int nbad = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(ents[i]->d_name);
        if (l > 4 && strcmp(ents[i]->d_name + l - 4, ".xml") == 0 && nbad < MAXFILES)
            bad[nbad++] = strdup(ents[i]->d_name);
        free(ents[i]);
    }
    free(ents);
    CHECK(nbad >= 30);

    /* 1. each document refused, from a string and from its file */
    for (int i = 0; i < nbad; i++) {
        char path[PATH_MAX + 320];
        snprintf(path, sizeof(path), "%s/%s", corpus, bad[i]);
        size_t len = 0;
        char *text = read_all(path, &len);
        for (unsigned int flags = 0; flags <= VIR_DOMAIN_DEF_PARSE_INACTIVE;
             flags += VIR_DOMAIN_DEF_PARSE_INACTIVE) {
            /* libvirt reads id= only for a live definition (virDomainDefParseIDs). */
            if (flags == VIR_DOMAIN_DEF_PARSE_INACTIVE && strcmp(bad[i], "21-bad-id.xml") == 0)
                continue;
            virResetLastError();
            virDomainDef *def = virDomainDefParseString(text, NULL, NULL, flags);
            if (def)
                fprintf(stderr, "%s was accepted (flags %u)\n", bad[i], flags);
            CHECK(def == NULL);
            CHECK(virGetLastErrorCode() != VIR_ERR_OK);
            /* Not a caught panic (libvirt itself reports some refusals, e.g. a malformed
             * UUID, as VIR_ERR_INTERNAL_ERROR, so the code alone cannot tell). */
            CHECK(strstr(virGetLastErrorMessage(), "unexpected failure inside virtcore") == NULL);
            CHECK(virGetLastErrorDomain() == VIR_FROM_DOMAIN);
            CHECK(strlen(virGetLastErrorMessage()) > 10);
        }
        printf("%-32s [%d] %.150s\n", bad[i], virGetLastErrorCode(), virGetLastErrorMessage());
        virResetLastError();
        CHECK(virDomainDefParseFile(path, NULL, NULL, 0) == NULL);
        CHECK(virGetLastErrorCode() != VIR_ERR_OK);
        CHECK_ERROR(virGetLastErrorCode(), bad[i]);
        free(text);
    }

    /* 2. LoadAllConfigs: the good load, each bad one is skipped and reported */
    /* logging is off by default: ask for errors, through our callback */
    int old_level = virtcoreLogGetLevel();
    CHECK(virtcoreLogSetLevel(VIR_LOG_ERROR) == 0);
    virtcoreLogSetCallback(log_cb, NULL);
    for (int live = 0; live <= 1; live++) {
        char dir[] = "/tmp/vc-badxml-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char buf[512], path[PATH_MAX + 320];
        for (int k = 1; k <= 2; k++) {
            virDomainDef *def =
                virDomainDefParseString(good_xml(k, buf, sizeof(buf), live ? 10 + k : 0),
                                        NULL, NULL, 0);
            CHECK(def != NULL);
            if (live) {
                virDomainObj *vm = virDomainObjNew(NULL);
                CHECK(vm != NULL);
                vm->def = def;
                virDomainObjSetState(vm, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
                CHECK(virDomainSaveStatus(NULL, dir, vm, NULL) == 0);
                virDomainObjEndAPI(&vm); /* frees def with the object */
            } else {
                CHECK(virDomainSaveConfig(dir, NULL, def) == 0);
                virDomainDefFree(def);
            }
        }
        for (int i = 0; i < nbad; i++) {
            char from[PATH_MAX + 320];
            snprintf(from, sizeof(from), "%s/%s", corpus, bad[i]);
            snprintf(path, sizeof(path), "%s/%s", dir, bad[i]);
            copy_file(from, path);
        }
        free(logged);
        logged = NULL;
        logged_len = 0;
        virResetLastError();

        virDomainObjList *list = virDomainObjListNew();
        CHECK(list != NULL);
        CHECK(virDomainObjListLoadAllConfigs(list, dir, dir, live, NULL, NULL, NULL) == 0);
        CHECK(virDomainObjListNumOfDomains(list, live, NULL, NULL) == 2);
        CHECK(virDomainObjListNumOfDomains(list, !live, NULL, NULL) == 0);
        for (int k = 1; k <= 2; k++) {
            char name[16];
            snprintf(name, sizeof(name), "good%d", k);
            virDomainObj *vm = virDomainObjListFindByName(list, name);
            CHECK(vm != NULL);
            CHECK(vm->persistent == !live);
            if (live) {
                CHECK(vm->def->id == 10 + k);
                CHECK(virDomainObjGetState(vm, NULL) == VIR_DOMAIN_RUNNING);
            }
            virDomainObjEndAPI(&vm);
        }
        /* the last error names a bad file; the log names every one */
        CHECK(virGetLastErrorCode() != VIR_ERR_OK);
        bool named = false;
        for (int i = 0; i < nbad; i++) {
            char stem[300];
            snprintf(stem, sizeof(stem), "%.*s", (int)strlen(bad[i]) - 4, bad[i]);
            named |= strstr(virGetLastErrorMessage(), stem) != NULL;
            pthread_mutex_lock(&log_mu);
            bool in_log = logged && strstr(logged, stem) != NULL;
            pthread_mutex_unlock(&log_mu);
            if (!in_log)
                fprintf(stderr, "no error logged for %s\n", bad[i]);
            CHECK(in_log);
        }
        CHECK(named);
        printf("LoadAllConfigs(liveStatus=%d): 2 loaded, %d malformed skipped and logged\n",
               live, nbad);
        virObjectUnref(list);

        snprintf(path, sizeof(path), "rm -rf '%s'", dir);
        CHECK(system(path) == 0);
    }
    virtcoreLogSetCallback(NULL, NULL);
    virtcoreLogSetLevel(old_level);
    free(logged);
    for (int i = 0; i < nbad; i++)
        free(bad[i]);
    TEST_DONE();
}
