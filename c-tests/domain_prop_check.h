/* domain_prop_check.h: the checks of test_domain_prop.c on one edited definition. */
#ifndef DOMAIN_PROP_CHECK_H
#define DOMAIN_PROP_CHECK_H

/* Disks are identified by target (libvirt refuses two disks with one target). */
static bool distinct_targets(const virDomainDef *def)
{
    for (size_t i = 0; i < def->ndisks; i++)
        for (size_t j = 0; j < i; j++)
            if (!def->disks[i]->dst || strcmp(def->disks[i]->dst, def->disks[j]->dst) == 0)
                return false;
    return true;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* ---- a document's lines, split into those outside disks and each disk's own ---- */
typedef struct {
    char **l;
    size_t n;
} lines;

typedef struct {
    char dst[256];
    lines l; /* the disk's lines not about modelled fields */
} disk_block;

typedef struct {
    lines outside; /* lines outside disks and leases, not about modelled fields */
    disk_block *disks;
    size_t ndisks;
} doc_lines;

static void push(lines *ls, const char *s, size_t len)
{
    ls->l = realloc(ls->l, (ls->n + 1) * sizeof(char *));
    ls->l[ls->n++] = strndup(s, len);
}

static bool starts(const char *s, size_t len, const char *p)
{
    size_t pl = strlen(p);
    return len >= pl && memcmp(s, p, pl) == 0;
}

static void split(const char *xml, doc_lines *out)
{
    memset(out, 0, sizeof(*out));
    bool in_disk = false, in_lease = false;
    for (const char *p = xml; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *s = p;
        size_t n = len;
        while (n && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
            n--;
        p = e ? e + 1 : p + len;
        if (!n)
            continue;
        if (in_lease) {
            in_lease = !starts(s, n, "</lease>");
            continue;
        }
        if (!in_disk && (starts(s, n, "<disk ") || starts(s, n, "<disk>"))) {
            out->disks = realloc(out->disks, (out->ndisks + 1) * sizeof(disk_block));
            memset(&out->disks[out->ndisks++], 0, sizeof(disk_block));
            in_disk = !(s[n - 2] == '/' && s[n - 1] == '>');
            continue;
        }
        if (in_disk) {
            disk_block *b = &out->disks[out->ndisks - 1];
            if (starts(s, n, "</disk>")) {
                in_disk = false;
            } else if (starts(s, n, "<target ")) {
                const char *d = strstr(s, "dev=");
                if (d && d < s + n) {
                    char q = d[4];
                    const char *v = d + 5, *ve = memchr(v, q, (size_t)(s + n - v));
                    if (ve)
                        snprintf(b->dst, sizeof(b->dst), "%.*s", (int)(ve - v), v);
                }
            } else if (!starts(s, n, "<source ") && !starts(s, n, "<source>") &&
                       !starts(s, n, "<readonly/>") && !starts(s, n, "<shareable/>")) {
                push(&b->l, s, n);
            }
            continue;
        }
        if (starts(s, n, "<lease>")) {
            in_lease = true;
            continue;
        }
        if (starts(s, n, "<name>") || starts(s, n, "<uuid>") || starts(s, n, "<domain") ||
            starts(s, n, "<devices") || starts(s, n, "</devices>"))
            continue;
        push(&out->outside, s, n);
    }
}

static void free_lines(lines *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        free(ls->l[i]);
    free(ls->l);
}

static void free_doc_lines(doc_lines *d)
{
    free_lines(&d->outside);
    for (size_t i = 0; i < d->ndisks; i++)
        free_lines(&d->disks[i].l);
    free(d->disks);
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first line of @want (a multiset) missing from @have, or NULL. */
static const char *missing(lines *want, lines *have)
{
    qsort(want->l, want->n, sizeof(char *), cmp_line);
    qsort(have->l, have->n, sizeof(char *), cmp_line);
    size_t j = 0;
    for (size_t i = 0; i < want->n; i++) {
        while (j < have->n && strcmp(have->l[j], want->l[i]) < 0)
            j++;
        if (j == have->n || strcmp(have->l[j], want->l[i]) != 0)
            return want->l[i];
        j++;
    }
    return NULL;
}

static disk_block *block_of(doc_lines *d, const char *dst)
{
    for (size_t i = 0; i < d->ndisks; i++)
        if (strcmp(d->disks[i].dst, dst) == 0)
            return &d->disks[i];
    return NULL;
}

static bool has_blank(const char *s)
{
    return s && strpbrk(s, "\t\n");
}

static bool any_lease_blank(const virDomainDef *a)
{
    for (size_t i = 0; i < a->nleases; i++)
        if (has_blank(a->leases[i]->path) || has_blank(a->leases[i]->key) ||
            has_blank(a->leases[i]->lockspace))
            return true;
    return false;
}

static bool same_lease(const virDomainLeaseDef *x, const virDomainLeaseDef *y)
{
    return same_str(x->lockspace, y->lockspace) && same_str(x->key, y->key) &&
           same_str(x->path, y->path) && x->offset == y->offset;
}

/* Every lease of @a has an equal one in @b (same counts): the same leases, in another order. */
static bool same_leases_any_order(const virDomainDef *a, const virDomainDef *b)
{
    for (size_t i = 0; i < a->nleases; i++) {
        size_t na = 0, nb = 0;
        for (size_t j = 0; j < a->nleases; j++)
            na += same_lease(a->leases[i], a->leases[j]);
        for (size_t j = 0; j < b->nleases; j++)
            nb += same_lease(a->leases[i], b->leases[j]);
        if (na != nb)
            return false;
    }
    return true;
}

/* @devices_closed: the original document had no <devices> element to add to (absent or
 * self-closing), issue 9 item 3. */
static void check_fields(const virDomainDef *a, const virDomainDef *b, const char *xml,
                         bool devices_closed)
{
    const char *count_cls = devices_closed ? "devices" : "fields";
    char why[512];
    if (!same_str(a->name, b->name))
        fail("fields", "name changed", xml);
    if (memcmp(a->uuid, b->uuid, VIR_UUID_BUFLEN) != 0)
        fail("fields", "uuid changed", xml);
    if (a->id != b->id)
        fail("fields", "id changed", xml);
    if (a->ndisks != b->ndisks)
        fail(count_cls, "number of disks changed", xml);
    for (size_t i = 0; i < a->ndisks; i++) {
        const virDomainDiskDef *x = a->disks[i], *y = NULL;
        for (size_t j = 0; j < b->ndisks && !y; j++)
            if (same_str(b->disks[j]->dst, x->dst))
                y = b->disks[j];
        snprintf(why, sizeof(why), "disk %s lost", x->dst);
        if (!y)
            fail("fields", why, xml);
        snprintf(why, sizeof(why), "disk %s changed", x->dst);
        if (x->src->type != y->src->type || x->device != y->device || x->bus != y->bus ||
            !same_str(x->src->path, y->src->path) || x->src->readonly != y->src->readonly ||
            x->src->shared != y->src->shared)
            fail(has_blank(x->src->path) ? "blanks" : "fields", why, xml);
    }
    if (a->nleases != b->nleases)
        fail(count_cls, "number of leases changed", xml);
    for (size_t i = 0; i < a->nleases; i++) {
        const virDomainLeaseDef *x = a->leases[i], *y = b->leases[i];
        snprintf(why, sizeof(why), "lease %zu changed: [%s|%s|%s|%llu] came back as [%s|%s|%s|%llu]",
                 i, x->lockspace, x->key, x->path, x->offset, y->lockspace, y->key, y->path,
                 y->offset);
        if (!same_lease(x, y))
            fail(same_leases_any_order(a, b) ? "lease-order" : any_lease_blank(a) ? "blanks" : "fields",
                 why, xml);
    }
}

static void check_case(const char *orig, virDomainDef *def)
{
    char why[1024];
    char *x1 = virDomainDefFormat(def, NULL, 0);
    if (!x1) {
        snprintf(why, sizeof(why), "format failed: %s", virGetLastErrorMessage());
        fail("format", why, NULL);
    }
    virDomainDef *def2 = virDomainDefParseString(x1, NULL, NULL, 0);
    if (!def2) {
        snprintf(why, sizeof(why), "formatted document refused: %s", virGetLastErrorMessage());
        fail("refused", why, x1);
    }
    check_fields(def, def2, x1, !strstr(orig, "<devices>"));
    char *x2 = virDomainDefFormat(def2, NULL, 0);
    if (!x2 || strcmp(x1, x2) != 0)
        fail("fixpoint", "format(parse(format(def))) differs from format(def)", x1);

    doc_lines o, f;
    split(orig, &o);
    split(x1, &f);
    const char *m = missing(&o.outside, &f.outside);
    if (m) {
        snprintf(why, sizeof(why), "line lost: %s", m);
        fail("line-lost", why, x1);
    }
    for (size_t i = 0; i < def->ndisks; i++) {
        const char *dst = def->disks[i]->dst;
        disk_block *was = block_of(&o, dst), *now = block_of(&f, dst);
        snprintf(why, sizeof(why), "disk %s not found in the formatted text", dst);
        if (!now)
            fail("disk-missing", why, x1);
        if (was && (m = missing(&was->l, &now->l))) {
            snprintf(why, sizeof(why), "disk %s lost its line: %s", dst, m);
            fail("disk-line-lost", why, x1);
        }
        if (!was && now->l.n) {
            snprintf(why, sizeof(why), "disk %s added from C carries a line it was not given: %s",
                     dst, now->l.l[0]);
            fail("inherit", why, x1);
        }
    }
    free_doc_lines(&o);
    free_doc_lines(&f);
    free(x2);
    virDomainDefFree(def2);
    free(x1);
}

#endif
