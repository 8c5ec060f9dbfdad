/* lockspace driver, LEASE resources: a lease with a path is a byte-range lock at its
 * offset in that file (other offsets are independent); a lease without a path lives in
 * the lockspace directory, named by its lockspace and key; busy leases name the holder;
 * bad lease parameters are errors naming the lease. */
#include "test_lockspace_util.h"

int main(void)
{
    ls_setup();
    const char *lf = ls_path("leases.bin");
    int fd = open(lf, O_CREAT | O_RDWR, 0600);
    CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
    close(fd);

    ls_agent *a = ls_agent_start();
    AGENT_OK(a, "new vmA 161");
    AGENT_OK(a, "lease k0 space %s 0 0", lf);
    AGENT_OK(a, "lease k4096 space %s 4096 0", lf);
    AGENT_OK(a, "lease plain space2 - 0 0");
    AGENT_OK(a, "acquire 0");

    /* The same lease (same path and offset) is busy and names the holder. */
    ls_manager *b = ls_new("vmB", 0xb2);
    CHECK(ls_add_lease(b, "k0", "space", lf, 0, 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "lease 'k0'");
    CHECK_CONTAINS(virGetLastErrorMessage(), "vmA");
    CHECK_CONTAINS(virGetLastErrorMessage(), ls_uuid_text(0xa1));
    CHECK_CONTAINS(virGetLastErrorMessage(), "offset 0");
    ls_free(b);
    /* Shared on an exclusively held lease: busy too. */
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_lease(b, "k4096", "space", lf, 4096, LS_SHARED) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmA");
    ls_free(b);
    /* Another offset of the same file is another lease. */
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_lease(b, "k8192", "space", lf, 8192, 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == 0);
    CHECK(drv->drvRelease(b, NULL, 0) == 0);
    ls_free(b);
    /* The user's lease file is locked, not written: it keeps its size and zeros. */
    struct stat st;
    CHECK(stat(lf, &st) == 0 && st.st_size == (1 << 20));
    unsigned char buf[8192];
    fd = open(lf, O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
    close(fd);
    int zero = 1;
    for (size_t i = 0; i < sizeof(buf); i++)
        zero &= buf[i] == 0;
    CHECK(zero);

    /* A lease without a path, by lockspace and key. */
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_lease(b, "plain", "space2", NULL, 0, 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "lease 'plain'");
    CHECK_CONTAINS(virGetLastErrorMessage(), "vmA");
    ls_free(b);
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_lease(b, "plain", "other-space", NULL, 0, 0) == 0); /* other lockspace */
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == 0);
    CHECK(drv->drvRelease(b, NULL, 0) == 0);
    ls_free(b);

    /* Releasing frees them; the holder's death would too. */
    AGENT_OK(a, "release");
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_lease(b, "k0", "space", lf, 0, 0) == 0);
    CHECK(ls_add_lease(b, "plain", "space2", NULL, 0, 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == 0);
    ls_agent_stop(a, 0);

    /* Shared leases coexist. */
    ls_manager *c = ls_new("vmC", 0xc3);
    CHECK(ls_add_lease(c, "ks", "space", lf, 65536, LS_SHARED) == 0);
    CHECK(drv->drvAcquire(c, NULL, 0, 0, NULL) == 0);
    ls_agent *s = ls_agent_start();
    AGENT_OK(s, "new vmS 83");
    AGENT_OK(s, "lease ks space %s 65536 %u", lf, LS_SHARED);
    AGENT_OK(s, "acquire 0");
    ls_agent_stop(s, 0);
    CHECK(drv->drvRelease(c, NULL, 0) == 0);
    ls_free(c);
    CHECK(drv->drvRelease(b, NULL, 0) == 0);
    ls_free(b);

    /* Errors: a lease file that does not exist, bad parameters. */
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_lease(b, "gone", "space", ls_path("no-such-lease"), 0, 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_SYSTEM, "no-such-lease");
    ls_free(b);
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_lease(b, "rel", "space", "relative/path", 0, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "lease 'rel'");
    ls_param p[2];
    memset(p, 0, sizeof(p));
    p[0].type = LS_PARAM_STRING; p[0].key = "colour"; p[0].value.cstr = "red";
    CHECK(drv->drvAddResource(b, LS_RES_LEASE, "odd", 1, p, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "unexpected parameter 'colour' for lease 'odd'");
    p[0].type = LS_PARAM_STRING; p[0].key = "offset"; p[0].value.cstr = "12";
    CHECK(drv->drvAddResource(b, LS_RES_LEASE, "odd", 1, p, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "'offset'");
    p[0].type = LS_PARAM_INT; p[0].key = "path"; p[0].value.iv = 3;
    CHECK(drv->drvAddResource(b, LS_RES_LEASE, "odd", 1, p, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "'path' must be a string");
    p[0].type = LS_PARAM_LONG; p[0].key = "offset"; p[0].value.l = -1;
    CHECK(drv->drvAddResource(b, LS_RES_LEASE, "odd", 1, p, 0) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "non-negative");
    /* The optional "key" parameter names the lease instead of the resource name. */
    p[0].type = LS_PARAM_CSTRING; p[0].key = "key"; p[0].value.cstr = "real-key";
    p[1].type = LS_PARAM_CSTRING; p[1].key = "lockspace"; p[1].value.cstr = "space3";
    CHECK(drv->drvAddResource(b, LS_RES_LEASE, "alias", 2, p, 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == 0);
    char *state = NULL;
    CHECK(drv->drvInquire(b, &state, 0) == 0 && state != NULL);
    CHECK_CONTAINS(state, ";l:x:1:real-key:space3::0");
    free(state);
    CHECK(drv->drvRelease(b, NULL, 0) == 0);
    ls_free(b);

    CHECK(drv->drvDeinit() == 0);
    TEST_DONE();
}
