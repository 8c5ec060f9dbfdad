/* test_log_env.c: VIRTCORE_DEBUG (set before the library's first use) turns debug
 * logging on; every exported call logs its arguments; messages reach the callback. */
#include <stdlib.h>
#include "testutil.h"

static int debug_lines, mentions_call;

static void log_cb(int priority, const char *source, const char *message, void *opaque)
{
    (void)source;
    (void)opaque;
    if (priority == VIR_LOG_DEBUG)
        debug_lines++;
    if (strstr(message, "virtcoreStateSetRunDir(dir=/nonexistent-for-test)"))
        mentions_call++;
}

int main(void)
{
    CHECK(setenv("VIRTCORE_DEBUG", "debug", 1) == 0);
    virtcoreLogSetCallback(log_cb, NULL);
    CHECK(virtcoreLogGetLevel() == VIR_LOG_DEBUG);
    CHECK(virtcoreStateSetRunDir("/nonexistent-for-test") == 0);
    CHECK(mentions_call == 1);
    CHECK(debug_lines >= 1);
    CHECK(virtcoreStateSetRunDir(NULL) == 0);
    /* Without a callback, messages go to stderr (not checked here) and nothing breaks. */
    virtcoreLogSetCallback(NULL, NULL);
    CHECK(virStateCleanup() == 0);
    TEST_DONE();
}
