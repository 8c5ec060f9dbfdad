/* bench_domain_xml.c: parse and format speed over real domain documents, built once
 * against virtcore and once against Debian's libvirt 9.0 (-DDOMAIN_USE_LIBVIRT), and the
 * cost of formatting a domain with many disks (to show it grows linearly).
 *
 *   bench_domain_xml_{vc,lv} FILE...       (scripts/bench-domain-xml.sh passes a corpus)
 *
 * Only documents both libraries parse are timed by the script: each program prints, per
 * file, whether it parsed; then the totals over the files it parsed. Output lines
 * "key value" (ns per document). Timings are reported, never asserted. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef DOMAIN_USE_LIBVIRT
#include "bench_domain_compat.h"
#else
#include <virtcore.h>
#define DOMAIN_IMPL "virtcore"
#endif

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc(n + 1);
    if (fread(buf, 1, n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* A domain with `n` disks, formatted `reps` times: ns per format. */
static double many_disks(virDomainXMLOption *xmlopt, int n, int reps)
{
    size_t cap = 256 + (size_t)n * 256, len = 0;
    char *xml = malloc(cap), name[16];
    virDomainDef *def;
    double t0, best = 1e300;
    int i, r;
    len += sprintf(xml + len, "<domain type='kvm'><name>many</name><memory>1024</memory>"
                              "<os><type>hvm</type></os><devices>\n");
    for (i = 0; i < n; i++) {
        /* sda, sdb, ... sdaa, ...: virtio-scsi style names libvirt accepts */
        int k = i;
        char s[8];
        int j = 7;
        s[j] = 0;
        do {
            s[--j] = 'a' + k % 26;
            k = k / 26 - 1;
        } while (k >= 0);
        snprintf(name, sizeof(name), "sd%s", s + j);
        len += sprintf(xml + len,
                       "<disk type='file' device='disk'><source file='/img/%d.img'/>"
                       "<target dev='%s' bus='scsi'/><address type='drive' controller='%d' bus='0' target='0' unit='%d'/></disk>\n",
                       i, name, i / 7, i % 7);
    }
    sprintf(xml + len, "</devices></domain>\n");
    def = virDomainDefParseString(xml, xmlopt, NULL, 0);
    free(xml);
    if (!def)
        return -1;
    for (r = 0; r < reps; r++) {
        char *s;
        t0 = now_ns();
        s = virDomainDefFormat(def, xmlopt, 0);
        t0 = now_ns() - t0;
        if (!s)
            return -1;
        free(s);
        if (t0 < best)
            best = t0;
    }
    virDomainDefFree(def);
    return best;
}

int main(int argc, char **argv)
{
    virDomainXMLOption *xmlopt;
    char **docs = calloc(argc, sizeof(*docs));
    int ndocs = 0, i, rep, reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 20;
    double tparse = 0, tformat = 0, t0;

#ifdef DOMAIN_USE_LIBVIRT
    virInitialize();
    virSetErrorFunc(NULL, NULL);
#endif
    xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL);
    printf("impl %s\n", DOMAIN_IMPL);
    for (i = 1; i < argc; i++) {
        char *text = slurp(argv[i]);
        virDomainDef *def = text ? virDomainDefParseString(text, xmlopt, NULL, 0) : NULL;
        printf("file %s %s\n", def ? "ok" : "fail", argv[i]);
        if (def) {
            virDomainDefFree(def);
            docs[ndocs++] = text;
        } else {
            free(text);
        }
    }
    if (getenv("BENCH_LIST_ONLY"))
        return 0;
    for (rep = 0; rep < reps; rep++) {
        for (i = 0; i < ndocs; i++) {
            virDomainDef *def;
            char *s;
            t0 = now_ns();
            def = virDomainDefParseString(docs[i], xmlopt, NULL, 0);
            tparse += now_ns() - t0;
            t0 = now_ns();
            s = virDomainDefFormat(def, xmlopt, 0);
            tformat += now_ns() - t0;
            free(s);
            virDomainDefFree(def);
        }
    }
    if (ndocs) {
        printf("docs %d\n", ndocs);
        printf("parse_ns %.0f\n", tparse / ((double)ndocs * reps));
        printf("format_ns %.0f\n", tformat / ((double)ndocs * reps));
    }
    if (getenv("BENCH_NO_DISKS"))
        return 0;
    for (i = 1000; i <= 40000; i *= 4) /* 1000, 4000, 16000 */
        printf("format_%d_disks_ns %.0f\n", i, many_disks(xmlopt, i, 5));
    printf("format_40000_disks_ns %.0f\n", many_disks(xmlopt, 40000, 3));
    return 0;
}
