/* domain_diff_compare.c: the comparison half of the differential test (virtcore build
 * only). Records are "DOC<tab>KEY<tab>VALUE" lines (see test_domain_diff.c); both sides
 * are sorted by document and key and joined. Keys starting with '~' are information (error
 * messages) shown next to a difference, never compared. When the two libraries disagree on
 * whether a document parses, only that is compared for the document.
 *
 * Every other difference fails the test unless a rule of known_differences explains it.
 * A rule matches the document, the key and both values with fnmatch(3) patterns and says
 * why the difference is deliberate or whose open item it is. */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_diff_compare.h"

typedef struct {
    const char *doc, *key, *lv, *vc; /* fnmatch patterns */
    const char *info; /* pattern for libvirt's message (~parse, ~rt.format); NULL: any */
    const char *reason;
    int hits;
} diff_rule;

#include "domain_diff_known.inc"

typedef struct {
    char *doc, *key, *val;
} record;

typedef struct {
    record *r;
    size_t n;
} records;

static int cmp_rec(const void *a, const void *b)
{
    const record *x = a, *y = b;
    int c = strcmp(x->doc, y->doc);
    if (c)
        return c;
    /* "parse" first: whether the rest of the document is compared depends on it */
    int px = strcmp(x->key, "parse") == 0, py = strcmp(y->key, "parse") == 0;
    return px != py ? py - px : strcmp(x->key, y->key);
}

static int load(const char *path, records *out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    size_t cap = 0;
    char *line = NULL;
    size_t len = 0;
    ssize_t got;
    out->r = NULL;
    out->n = 0;
    while ((got = getline(&line, &len, f)) > 0) {
        if (line[got - 1] == '\n')
            line[got - 1] = '\0';
        char *t1 = strchr(line, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2)
            continue;
        *t1 = *t2 = '\0';
        if (out->n == cap) {
            cap = cap ? cap * 2 : 4096;
            out->r = realloc(out->r, cap * sizeof(record));
            if (!out->r)
                abort();
        }
        out->r[out->n++] = (record){strdup(line), strdup(t1 + 1), strdup(t2 + 1)};
    }
    free(line);
    fclose(f);
    qsort(out->r, out->n, sizeof(record), cmp_rec);
    return 0;
}

static const char *find(const records *rs, const char *doc, const char *key)
{
    record k = {(char *)doc, (char *)key, NULL};
    record *r = bsearch(&k, rs->r, rs->n, sizeof(record), cmp_rec);
    return r ? r->val : NULL;
}

static const char *lv_info(const records *lv, const char *doc, const char *key)
{
    char ik[64];
    snprintf(ik, sizeof(ik), "~%s", key);
    const char *v = find(lv, doc, ik);
    if (!v && strncmp(key, "rt.", 3) != 0)
        v = find(lv, doc, "~parse");
    return v ? v : "";
}

typedef struct {
    const records *lv, *vc;
    FILE *rep;
    size_t compared, explained, unexplained;
} ctx;

/* One difference: explained by a rule, or written to the report. */
static void differ(ctx *c, const char *doc, const char *key, const char *lval, const char *vval)
{
    const char *info = lv_info(c->lv, doc, key);
    for (size_t i = 0; i < sizeof(known_differences) / sizeof(known_differences[0]); i++) {
        diff_rule *r = &known_differences[i];
        if (fnmatch(r->doc, doc, 0) == 0 && fnmatch(r->key, key, 0) == 0 &&
            fnmatch(r->lv, lval, 0) == 0 && fnmatch(r->vc, vval, 0) == 0 &&
            fnmatch(r->info ? r->info : "*", info, 0) == 0) {
            r->hits++;
            c->explained++;
            return;
        }
    }
    c->unexplained++;
    fprintf(c->rep, "DIFF %s %s\n  libvirt:  %s\n  virtcore: %s\n", doc, key, lval, vval);
    const char *infos[] = {"~parse", "~rt.parse", "~rt.format", "~lv.parse", "~lv.format"};
    for (size_t k = 0; k < sizeof(infos) / sizeof(infos[0]); k++) {
        const char *a = find(c->lv, doc, infos[k]), *b = find(c->vc, doc, infos[k]);
        if (a)
            fprintf(c->rep, "  libvirt %s: %s\n", infos[k] + 1, a);
        if (b)
            fprintf(c->rep, "  virtcore %s: %s\n", infos[k] + 1, b);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Ordered groups (a document's disks, its lock calls): compared in order; when the two
 * sequences hold the same records in another order, that is one difference, GROUP.order
 * (libvirt sorts disks at parse), and the records are then compared in sorted order so
 * that a difference in the records themselves still shows. */
static void compare_group(ctx *c, const char *doc, const char *group, record *a, size_t na,
                          record *b, size_t nb)
{
    size_t n = na > nb ? na : nb, direct = 0;
    for (size_t k = 0; k < n; k++)
        direct += k >= na || k >= nb || strcmp(a[k].val, b[k].val) != 0;
    c->compared += n;
    if (!direct)
        return;
    char **sa = calloc(na + 1, sizeof(char *)), **sb = calloc(nb + 1, sizeof(char *));
    for (size_t k = 0; k < na; k++)
        sa[k] = a[k].val;
    for (size_t k = 0; k < nb; k++)
        sb[k] = b[k].val;
    qsort(sa, na, sizeof(char *), cmp_str);
    qsort(sb, nb, sizeof(char *), cmp_str);
    size_t sorted = 0;
    for (size_t k = 0; k < n; k++)
        sorted += k >= na || k >= nb || strcmp(sa[k], sb[k]) != 0;
    char key[64];
    if (sorted < direct) {
        snprintf(key, sizeof(key), "%s.order", group);
        differ(c, doc, key, "(order)", "(order)");
    }
    for (size_t k = 0; k < n; k++) {
        const char *x = sorted < direct ? (k < na ? sa[k] : NULL) : (k < na ? a[k].val : NULL);
        const char *y = sorted < direct ? (k < nb ? sb[k] : NULL) : (k < nb ? b[k].val : NULL);
        if (x && y && strcmp(x, y) == 0)
            continue;
        snprintf(key, sizeof(key), "%s.%03zu", group, k);
        differ(c, doc, key, x ? x : "(absent)", y ? y : "(absent)");
    }
    free(sa);
    free(sb);
}

static const char *group_of(const char *key)
{
    static const char *groups[] = {"f.disk.", "rt.disk.", "lock."};
    for (size_t g = 0; g < 3; g++)
        if (strncmp(key, groups[g], strlen(groups[g])) == 0)
            return groups[g];
    return NULL;
}

/* One document: records a[0..na) from libvirt, b[0..nb) from virtcore, sorted by key. */
static void compare_doc(ctx *c, const char *doc, record *a, size_t na, record *b, size_t nb)
{
    /* "parse" sorts first; when the libraries disagree on it nothing else compares */
    const char *pa = na && strcmp(a[0].key, "parse") == 0 ? a[0].val : "(absent)";
    const char *pb = nb && strcmp(b[0].key, "parse") == 0 ? b[0].val : "(absent)";
    if ((strcmp(pa, "ok") == 0) != (strcmp(pb, "ok") == 0)) {
        c->compared++;
        differ(c, doc, "parse", pa, pb);
        return;
    }
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        const char *ka = i < na ? a[i].key : NULL, *kb = j < nb ? b[j].key : NULL;
        int k = !ka ? 1 : !kb ? -1 : strcmp(ka, kb);
        const char *g = group_of(k <= 0 ? ka : kb);
        if (g) {
            size_t i2 = i, j2 = j, gl = strlen(g);
            while (i2 < na && strncmp(a[i2].key, g, gl) == 0)
                i2++;
            while (j2 < nb && strncmp(b[j2].key, g, gl) == 0)
                j2++;
            char name[32];
            snprintf(name, sizeof(name), "%.*s", (int)gl - 1, g);
            compare_group(c, doc, name, a + i, i2 - i, b + j, j2 - j);
            i = i2;
            j = j2;
            continue;
        }
        const char *key = k <= 0 ? ka : kb;
        const char *x = k <= 0 ? a[i].val : "(absent)", *y = k >= 0 ? b[j].val : "(absent)";
        if (k <= 0)
            i++;
        if (k >= 0)
            j++;
        if (key[0] == '~')
            continue;
        c->compared++;
        if (strcmp(x, y) != 0)
            differ(c, doc, key, x, y);
    }
}

int domain_diff_compare(const char *lv_path, const char *vc_path, const char *report_path)
{
    records lv, vc;
    if (load(lv_path, &lv) < 0 || load(vc_path, &vc) < 0)
        return 1;
    ctx c = {&lv, &vc, fopen(report_path, "w"), 0, 0, 0};
    if (!c.rep)
        c.rep = stderr;
    int docs = 0, both_ok = 0, both_refused = 0, lv_only = 0, vc_only = 0;
    size_t i = 0, j = 0;
    while (i < lv.n || j < vc.n) {
        int k = i >= lv.n ? 1 : j >= vc.n ? -1 : strcmp(lv.r[i].doc, vc.r[j].doc);
        const char *doc = k <= 0 ? lv.r[i].doc : vc.r[j].doc;
        size_t i2 = i, j2 = j;
        while (k <= 0 && i2 < lv.n && strcmp(lv.r[i2].doc, doc) == 0)
            i2++;
        while (k >= 0 && j2 < vc.n && strcmp(vc.r[j2].doc, doc) == 0)
            j2++;
        const char *pa = find(&lv, doc, "parse"), *pb = find(&vc, doc, "parse");
        if (pa || pb) {
            bool lok = pa && strcmp(pa, "ok") == 0, vok = pb && strcmp(pb, "ok") == 0;
            docs++;
            both_ok += lok && vok;
            both_refused += !lok && !vok;
            lv_only += !lok && vok;
            vc_only += lok && !vok;
        }
        compare_doc(&c, doc, lv.r + i, i2 - i, vc.r + j, j2 - j);
        i = i2;
        j = j2;
    }
    printf("domain-diff: %d documents: both accept %d, both refuse %d, only libvirt refuses %d, "
           "only virtcore refuses %d\n",
           docs, both_ok, both_refused, lv_only, vc_only);
    printf("domain-diff: %zu records compared, %zu differences explained, %zu unexplained\n",
           c.compared, c.explained, c.unexplained);
    /* one line per reason (several rules share one), and the rules that matched nothing */
    size_t nrules = sizeof(known_differences) / sizeof(known_differences[0]);
    for (size_t k = 0; k < nrules; k++) {
        diff_rule *r = &known_differences[k];
        if (c.rep != stderr)
            fprintf(c.rep, "rule %zu (%d): %s [%s %s %s]\n", k, r->hits, r->reason, r->doc,
                    r->key, r->info ? r->info : "");
        bool first = true;
        int hits = 0;
        for (size_t m = 0; m < nrules; m++) {
            if (strcmp(known_differences[m].reason, r->reason) != 0)
                continue;
            first = first && m >= k;
            hits += known_differences[m].hits;
        }
        if (first)
            printf("  known (%d): %s\n", hits, r->reason);
        if (!r->hits)
            printf("  rule %zu matched nothing (fixed? remove it): [%s %s %s]\n", k, r->doc, r->key,
                   r->info ? r->info : "");
    }
    if (c.unexplained)
        printf("domain-diff: FAILED, every difference is in %s\n", report_path);
    if (c.rep != stderr)
        fclose(c.rep);
    return c.unexplained ? 1 : 0;
}
