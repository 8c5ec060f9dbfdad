/* test_errors.c: libvirt's public error API over virtcore's thread-local last error,
 * raising errors from C with virReportErrorHelper / virReportError, the error handler,
 * and the log callback and level. */
#include <pthread.h>
#include "testutil.h"

#define VIR_FROM_THIS VIR_FROM_STORAGE

static int handler_calls;
static int handler_last_code;
static void *handler_data;

static void handler(void *userData, virErrorPtr err)
{
    handler_calls++;
    handler_last_code = err->code;
    handler_data = userData;
}

static int log_calls;
static char log_last[256];

static void log_cb(int priority, const char *source, const char *message, void *opaque)
{
    (void)source;
    if (priority >= VIR_LOG_DEBUG && opaque == &log_calls) {
        log_calls++;
        snprintf(log_last, sizeof(log_last), "%s", message);
    }
}

static void *other_thread(void *arg)
{
    (void)arg;
    /* Errors are per thread: this thread starts with none. */
    if (virGetLastError() != NULL || virGetLastErrorCode() != VIR_ERR_OK)
        return (void *)1;
    virReportError(VIR_ERR_INVALID_ARG, "thread %d", 2);
    if (virGetLastErrorCode() != VIR_ERR_INVALID_ARG)
        return (void *)2;
    return NULL;
}

int main(void)
{
    virError copy;
    virErrorPtr saved, last;
    pthread_t t;
    void *tret;
    char longmsg[3000];

    /* No error yet. */
    CHECK(virGetLastError() == NULL);
    CHECK(virGetLastErrorCode() == VIR_ERR_OK);
    CHECK(virGetLastErrorDomain() == VIR_FROM_NONE);
    CHECK(strcmp(virGetLastErrorMessage(), "no error") == 0);
    memset(&copy, 0x5a, sizeof(copy));
    CHECK(virCopyLastError(&copy) == 0);
    CHECK(copy.code == 0 && copy.message == NULL);
    CHECK(virCopyLastError(NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "to in virCopyLastError must not be NULL");
    virResetLastError();

    /* Raise one from C, with libvirt's message text for the code. */
    virReportError(VIR_ERR_OPERATION_FAILED, "pool '%s' is %s", "default", "inactive");
    last = virGetLastError();
    CHECK(last != NULL);
    CHECK(last->code == VIR_ERR_OPERATION_FAILED);
    CHECK(last->domain == VIR_FROM_STORAGE);
    CHECK(last->level == VIR_ERR_ERROR);
    CHECK(strcmp(last->message, "operation failed: pool 'default' is inactive") == 0);
    CHECK(virGetLastErrorDomain() == VIR_FROM_STORAGE);

    /* Copies are deep and survive the next error. */
    CHECK(virCopyLastError(&copy) == VIR_ERR_OPERATION_FAILED);
    saved = virSaveLastError();
    CHECK(saved != NULL && saved->code == VIR_ERR_OPERATION_FAILED);
    virReportErrorHelper(VIR_FROM_QEMU, VIR_ERR_INTERNAL_ERROR, NULL, NULL, 0, NULL);
    CHECK(strcmp(virGetLastErrorMessage(), "internal error") == 0);
    CHECK(strcmp(copy.message, "operation failed: pool 'default' is inactive") == 0);
    CHECK(strcmp(saved->message, copy.message) == 0);
    virResetError(&copy);
    CHECK(copy.message == NULL && copy.code == 0);
    virResetError(NULL);
    virFreeError(saved);
    virFreeError(NULL);

    /* Long messages are not truncated. */
    memset(longmsg, 'x', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    virReportError(VIR_ERR_INTERNAL_ERROR, "%s", longmsg);
    CHECK(strlen(virGetLastErrorMessage()) == strlen("internal error: ") + sizeof(longmsg) - 1);

    /* Unknown codes become an internal error that says what was passed. */
    virReportErrorHelper(VIR_FROM_NONE, 100000, __FILE__, __func__, __LINE__, "odd");
    CHECK_ERROR(VIR_ERR_INTERNAL_ERROR, "unknown error code 100000");

    /* Per-thread. */
    virResetLastError();
    CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0);
    CHECK(pthread_join(t, &tret) == 0);
    CHECK(tret == NULL);
    CHECK(virGetLastErrorCode() == VIR_ERR_OK);

    /* The error handler sees every error raised. */
    virSetErrorFunc(&handler_calls, handler);
    virReportError(VIR_ERR_NO_DOMAIN, "no domain with matching uuid '%s'", "abc");
    CHECK(handler_calls == 1 && handler_last_code == VIR_ERR_NO_DOMAIN);
    CHECK(handler_data == &handler_calls);
    CHECK(strcmp(virGetLastErrorMessage(), "Domain not found: no domain with matching uuid 'abc'") == 0);
    virSetErrorFunc(NULL, NULL);
    virReportError(VIR_ERR_NO_DOMAIN, "again");
    CHECK(handler_calls == 1);
    virDefaultErrorFunc(virGetLastError()); /* prints like libvirt; must not crash */
    virDefaultErrorFunc(NULL);

    /* Logging: off by default (unless the environment says otherwise), callback. */
    if (getenv("VIRTCORE_DEBUG") == NULL && getenv("LIBVIRT_DEBUG") == NULL)
        CHECK(virtcoreLogGetLevel() == VIRTCORE_LOG_OFF);
    virtcoreLogSetCallback(log_cb, &log_calls);
    CHECK(virtcoreLogSetLevel(VIR_LOG_ERROR) == 0);
    CHECK(virtcoreLogGetLevel() == VIR_LOG_ERROR);
    virReportError(VIR_ERR_OPERATION_INVALID, "logged %d", 7);
    CHECK(log_calls == 1);
    CHECK(strcmp(log_last, "Requested operation is not valid: logged 7") == 0);
    CHECK(virtcoreLogSetLevel(0) == 0);
    virReportError(VIR_ERR_OPERATION_INVALID, "not logged");
    CHECK(log_calls == 1);
    CHECK(virtcoreLogSetLevel(9) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "log level 9");
    CHECK(virtcoreLogSetLevel(VIR_LOG_DEBUG) == 0);
    CHECK(virStateCleanup() == 0); /* any call logs its arguments at debug level */
    CHECK(log_calls > 1);
    virtcoreLogSetCallback(NULL, NULL);
    CHECK(virtcoreLogSetLevel(VIRTCORE_LOG_OFF) == 0);

    TEST_DONE();
}
