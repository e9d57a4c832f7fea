# certhook_add_plugin(<target> SOURCES <src>... [LIBRARIES <lib>...]
#                     [OUTPUT_DIRECTORY <dir>] [INSTALL] [INSTALL_DIR <dir>] [SHARED_RUNTIME])
#
# Builds a certhook plugin: a MODULE library named <target>.so (no "lib" prefix), position
# independent, hidden visibility (only certhook_plugin_entry, marked CERTHOOK_PLUGIN_EXPORT, is
# exported), linked with -z defs so that a missing symbol fails the build instead of the load,
# and linked against certhook::sdk. C++ sources get at least C++17 (the C++ wrapper needs it).
#
# libstdc++ is linked statically into the plugin (its symbols kept private with
# --exclude-libs,ALL): certhook-plugin-host has no shared libstdc++ loaded, and mapping it costs
# about a millisecond per call, more than the host itself. Pass SHARED_RUNTIME when the plugin
# links a C++ shared library that exchanges standard-library objects with it.
#
# INSTALL installs the module into INSTALL_DIR, by default the certhook plugin dir
# (${CERTHOOK_PLUGIN_INSTALL_DIR} in the certhook tree, else lib/certhook/plugins under the
# install prefix, matching certhook's default plugin_dirs /usr/lib/certhook/plugins).
#
# Works in the certhook source tree (sdk/CMakeLists.txt includes this file) and from an
# installed SDK (find_package(certhook-sdk) includes it too).
include_guard(GLOBAL)

function(certhook_add_plugin target)
  cmake_parse_arguments(P "INSTALL;SHARED_RUNTIME" "OUTPUT_DIRECTORY;INSTALL_DIR" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT P_SOURCES)
    message(FATAL_ERROR "certhook_add_plugin(${target}): SOURCES is required")
  endif()
  if(P_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "certhook_add_plugin(${target}): unknown arguments: ${P_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET certhook::sdk)
    message(FATAL_ERROR "certhook_add_plugin(${target}): target certhook::sdk is missing; "
                        "call find_package(certhook-sdk REQUIRED) first")
  endif()

  add_library(${target} MODULE ${P_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    SUFFIX ".so"
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(P_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${P_OUTPUT_DIRECTORY}")
  endif()
  get_property(languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  if(CXX IN_LIST languages)
    target_compile_features(${target} PRIVATE cxx_std_17)
  endif()
  target_link_options(${target} PRIVATE "LINKER:-z,defs")
  # Export certhook_plugin_entry only, including template instantiations from std headers
  # (which carry default visibility whatever the preset).
  set(map "${CMAKE_BINARY_DIR}/certhook_plugin_exports.map")
  file(CONFIGURE OUTPUT "${map}" CONTENT "{\n  global: certhook_plugin_entry;\n  local: *;\n};\n")
  target_link_options(${target} PRIVATE "LINKER:--version-script=${map}")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${map}")
  if(CXX IN_LIST languages AND NOT P_SHARED_RUNTIME
     AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_link_options(${target} PRIVATE
      $<$<LINK_LANGUAGE:CXX>:-static-libstdc++> $<$<LINK_LANGUAGE:CXX>:LINKER:--exclude-libs,ALL>)
  endif()
  target_link_libraries(${target} PRIVATE certhook::sdk ${P_LIBRARIES})

  if(P_INSTALL)
    set(dir "${P_INSTALL_DIR}")
    if(NOT dir AND DEFINED CERTHOOK_PLUGIN_INSTALL_DIR)
      set(dir "${CERTHOOK_PLUGIN_INSTALL_DIR}")
    endif()
    if(NOT dir)
      set(dir "lib/certhook/plugins")   # certhook's default plugin_dirs is /usr/lib/certhook/plugins
    endif()
    install(TARGETS ${target} LIBRARY DESTINATION "${dir}"
            PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()
endfunction()
