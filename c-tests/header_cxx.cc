// header_cxx.cc: virtcore.h compiles as C++ (included twice), its functions link with C
// linkage, and the virReportError macro (a C-defined variadic function) links and works.
#include <virtcore.h>
#include <virtcore.h>
#include <cstdio>
#include <cstring>

#define VIR_FROM_THIS VIR_FROM_QEMU

static int report(const char *what)
{
    virReportError(VIR_ERR_OPERATION_FAILED, "cannot %s", what);
    return -1;
}

int main()
{
    virResetLastError();
    if (virGetLastErrorCode() != VIR_ERR_OK)
        return 1;
    if (report("start guest") != -1 || virGetLastErrorCode() != VIR_ERR_OPERATION_FAILED ||
        !std::strstr(virGetLastErrorMessage(), "cannot start guest")) {
        std::fprintf(stderr, "header_cxx: virReportError gave [%d] %s\n",
                     virGetLastErrorCode(), virGetLastErrorMessage());
        return 1;
    }
    unsigned long v = 0;
    if (virtcoreGetVersion(&v) != 0 || v != VIRTCORE_VERSION_NUMBER)
        return 1;
    std::puts("header_cxx: C++ build links, virReportError works");
    return 0;
}
