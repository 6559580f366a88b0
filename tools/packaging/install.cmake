# cmake --install: the programs, libqflash (static and shared), the public
# headers, qflash.pc, the CMake package (find_package(qflash)), man pages and
# bash/zsh completions; and CPack's Debian packages `qflash` and
# `libqflash-dev` (cpack -G DEB in the build directory).
include(CMakePackageConfigHelpers)

set(QFLASH_PROGRAMS qflash)
if(TARGET qflash-mass)
  list(APPEND QFLASH_PROGRAMS qflash-mass)
endif()
install(TARGETS ${QFLASH_PROGRAMS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)

install(TARGETS qflash_static EXPORT qflashTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
if(TARGET qflash_shared)
  # libqflash.so.0 is the runtime (package qflash), the libqflash.so link the -dev's.
  install(TARGETS qflash_shared EXPORT qflashTargets
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT tools NAMELINK_COMPONENT dev)
endif()
# <qflash/error.h> and <qflash/log.h> are forwarders in the tree; the files
# they forward to are installed under their names.
install(FILES engine/api/include/qflash/qflash.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qflash COMPONENT dev)
install(FILES io/base/error.h io/base/log.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qflash
        COMPONENT dev)

# pkg-config: qflash (the shared library) and qflash-static (libqflash.a
# and the libraries it needs).
file(RELATIVE_PATH QFLASH_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(tools/packaging/qflash.pc.in ${CMAKE_BINARY_DIR}/qflash.pc @ONLY)
configure_file(tools/packaging/qflash-static.pc.in ${CMAKE_BINARY_DIR}/qflash-static.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/qflash.pc ${CMAKE_BINARY_DIR}/qflash-static.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

install(EXPORT qflashTargets NAMESPACE qflash:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/qflash
        COMPONENT dev)
configure_package_config_file(tools/packaging/qflashConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/qflashConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/qflash)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/qflashConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/qflashConfig.cmake ${CMAKE_BINARY_DIR}/qflashConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/qflash COMPONENT dev)

file(GLOB QFLASH_MAN_PAGES CONFIGURE_DEPENDS tools/packaging/man/*.1)
install(FILES ${QFLASH_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tools)
install(FILES tools/packaging/completions/qflash.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME qflash COMPONENT tools)
install(FILES tools/packaging/completions/qflash.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME qflash-mass COMPONENT tools)
install(FILES tools/packaging/completions/_qflash DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions
        COMPONENT tools)

# Debian packages: `qflash` (programs, libqflash.so.0, man pages,
# completions; the programs themselves link libqflash statically) and
# `libqflash-dev` (headers, libqflash.a, the .so link, pkg-config and CMake files).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_NAME qflash)
set(CPACK_PACKAGE_VENDOR "qflash")
set(CPACK_PACKAGE_CONTACT "qflash maintainers <qflash@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "write disk images onto many drives at once")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL tools dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME qflash)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION admin)
# The libraries' packages come from dpkg-shlibdeps; ca-certificates because
# HTTPS images are verified against the system's CA store.
set(CPACK_DEBIAN_TOOLS_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "ca-certificates")
set(CPACK_DEBIAN_TOOLS_DESCRIPTION
    "write disk images onto block devices and files\n qflash writes QCOW2 virtual disk images (with backing chains), raw disk images\n and compressed raw images (gzip, xz, zstd, bzip2, zip; with bmap files), local,\n over HTTP(S) or from standard input, onto block devices or files, one image\n onto many drives at once.")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libqflash-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "qflash (= ${PROJECT_VERSION}), liburing-dev, libdeflate-dev, libzstd-dev, libcurl4-openssl-dev, libmount-dev, liblzma-dev, libisal-dev, libbz2-dev, libexpat1-dev, libssl-dev, pkg-config")
set(CPACK_DEBIAN_DEV_DESCRIPTION
    "qflash library: development files\n <qflash/qflash.h>, libqflash.a, the libqflash.so link, pkg-config and CMake package files.")
include(CPack)
