# `make install` / `cmake --install build --prefix DIR`: the binary in bin/, a manual page made
# of its --help texts in share/man/man1/, and the example configs in share/sluice/examples/.
include(GNUInstallDirs)

# The manual page is generated from the built binary, so it cannot disagree with `--help`.
set(SLUICE_MANPAGE ${CMAKE_BINARY_DIR}/sluice.1)
add_custom_command(
  OUTPUT ${SLUICE_MANPAGE}
  COMMAND ${CMAKE_COMMAND} -DSLUICE=$<TARGET_FILE:sluice> -DVERSION=${PROJECT_VERSION}
          -DOUTPUT=${SLUICE_MANPAGE} -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/WriteManPage.cmake
  DEPENDS sluice ${CMAKE_CURRENT_SOURCE_DIR}/cmake/WriteManPage.cmake
  COMMENT "Writing the manual page sluice.1 from --help")
add_custom_target(sluice_manpage ALL DEPENDS ${SLUICE_MANPAGE})

install(TARGETS sluice RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${SLUICE_MANPAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES config/demo.yaml config/sidecar.yaml config/aggregator.yaml deploy/node-daemon.yaml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/sluice/examples)
install(PROGRAMS config/demo-app.sh DESTINATION ${CMAKE_INSTALL_DATADIR}/sluice/examples)
