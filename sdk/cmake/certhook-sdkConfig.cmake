# certhook-sdk package: find_package(certhook-sdk) gives the INTERFACE target certhook::sdk
# (headers certhook/plugin.h, the C ABI, and certhook/plugin.hpp, the C++17 wrapper) and the
# function certhook_add_plugin(<target> SOURCES ...) (see CerthookAddPlugin.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/certhook-sdkTargets.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/CerthookAddPlugin.cmake")
set(CERTHOOK_SDK_ABI_MAJOR 1)
set(CERTHOOK_SDK_ABI_MINOR 0)
