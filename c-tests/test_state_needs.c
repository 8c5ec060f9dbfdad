/* test_state_needs.c: declared needs (stateNeeds) are checked before anything runs. A need
 * on a missing driver, on one in the same tier or in a higher tier, is an error naming
 * both drivers, and no driver is initialized. Needs on lower tiers are fine. */
#include "test_state_util.h"

static const char *const need_storage[] = {"storage", NULL};
static const char *const need_storage_secret[] = {"storage", "secret", NULL};
static const char *const need_secret[] = {"secret", NULL};
static const char *const need_qemu[] = {"qemu", NULL};
static const char *const need_self[] = {"storage", "qemu", NULL};
static const char *const need_nothing[] = {NULL};

static void expect_refused(const char *a, const char *b)
{
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == -1);
    CHECK(virGetLastErrorCode() != VIR_ERR_OK);
    CHECK_MSG(a);
    CHECK_MSG(b);
    CHECK_TRACE(""); /* nothing ran */
    for (int i = 0; i < TD_MAX; i++)
        CHECK(!tds[i].drv.initialized);
}

static int missing(void)
{
    TD_REGISTER(0, "qemu", 1, 0);
    TD_REGISTER(1, "secret", 0, 1);
    tds[0].ext.needs = need_storage_secret;
    expect_refused("'qemu'", "'storage'");
    CHECK_MSG("not registered");
    return 0;
}

static int same_tier(void)
{
    TD_REGISTER(0, "storage", 0, 0);
    TD_REGISTER(1, "secret", 0, 1);
    TD_REGISTER(2, "qemu", 1, 2);
    tds[0].ext.needs = need_secret; /* the storage -> secret link of the proposal */
    tds[2].ext.needs = need_storage;
    expect_refused("'storage'", "'secret'");
    return 0;
}

static int higher_tier(void)
{
    TD_REGISTER(0, "qemu", 1, 0);
    TD_REGISTER(1, "storage", 0, 1);
    tds[1].ext.needs = need_qemu; /* storage -> qemu: the cycle back */
    tds[0].ext.needs = need_storage;
    expect_refused("'storage'", "'qemu'");
    return 0;
}

static int self(void)
{
    TD_REGISTER(0, "storage", 0, 0);
    TD_REGISTER(1, "qemu", 1, 1);
    tds[1].ext.needs = need_self;
    expect_refused("'qemu'", "'qemu'");
    return 0;
}

static int satisfied(void)
{
    TD_REGISTER(0, "qemu", 1, 0);
    TD_REGISTER(1, "storage", 0, 1);
    TD_REGISTER(2, "secret", 0, 2);
    TD_REGISTER(3, "mgmt", 5, 3);
    tds[0].ext.needs = need_storage_secret;
    tds[1].ext.needs = need_nothing;
    tds[3].ext.needs = need_qemu;
    CHECK(virtcoreStateSetRunDir(fresh_dir()) == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK_TRACE("init:storage init:secret auto:storage auto:secret init:qemu auto:qemu "
                "init:mgmt auto:mgmt");
    CHECK(virStateCleanup() == 0);
    return 0;
}

int main(void)
{
    CHECK(make_tmpdir(td_base, sizeof(td_base)));
    CHECK_FORKED(missing);
    CHECK_FORKED(same_tier);
    CHECK_FORKED(higher_tier);
    CHECK_FORKED(self);
    CHECK_FORKED(satisfied);
    rm_tree(td_base);
    TEST_DONE();
}
