# Version and git revision baked into `sluice version`. The revision is read at every build
# (not only at configure time) and the header is rewritten only when it changes, so a new
# commit recompiles just main.cpp.
set(SLUICE_VERSION_HEADER ${CMAKE_CURRENT_BINARY_DIR}/generated/sluice/version.hpp)
add_custom_target(sluice_version
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}
          -DVERSION=${PROJECT_VERSION} -DOUTPUT=${SLUICE_VERSION_HEADER}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/WriteVersion.cmake
  BYPRODUCTS ${SLUICE_VERSION_HEADER}
  COMMENT "Reading the git revision")
