// header_cxx.cc: virtcore.h compiles as C++ and its functions link with C linkage.
#include <virtcore.h>
#include <cstdio>

int main()
{
    virResetLastError();
    if (virGetLastErrorCode() != VIR_ERR_OK)
        return 1;
    std::puts("header_cxx: C++ build links and runs");
    return 0;
}
