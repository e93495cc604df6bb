# Compiles through ccache when it is installed (scripts/install-deps.sh installs it), so that a
# second build of the same sources — another clone, the sanitizer build after a clean, CI after a
# local run — reuses the objects instead of compiling them again. Paths under the source tree are
# hashed relative to it (CCACHE_BASEDIR) and the build directory is left out of the hash
# (CCACHE_NOHASHDIR), so clones at different places share their objects. A launcher set by the
# user (-DCMAKE_CXX_COMPILER_LAUNCHER=...) wins; -DSLUICE_CCACHE=OFF compiles directly.
option(SLUICE_CCACHE "Compile through ccache when it is installed" ON)
find_program(SLUICE_CCACHE_PROGRAM ccache)
if(SLUICE_CCACHE AND SLUICE_CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${CMAKE_SOURCE_DIR} CCACHE_NOHASHDIR=1
      ${SLUICE_CCACHE_PROGRAM})
endif()
