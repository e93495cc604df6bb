# All dependencies are Debian packages (scripts/install-deps.sh); nothing is downloaded.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG)
find_package(simdjson REQUIRED CONFIG)
find_package(yaml-cpp REQUIRED CONFIG)
find_package(CLI11 REQUIRED CONFIG)
find_package(fmt REQUIRED CONFIG)
find_package(ZLIB REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
find_path(CONCURRENTQUEUE_INCLUDE_DIR concurrentqueue/blockingconcurrentqueue.h REQUIRED)

add_library(sluice_deps INTERFACE)
target_include_directories(sluice_deps SYSTEM INTERFACE ${CONCURRENTQUEUE_INCLUDE_DIR})
target_link_libraries(sluice_deps INTERFACE
  Threads::Threads Boost::headers simdjson::simdjson yaml-cpp CLI11::CLI11 fmt::fmt
  PkgConfig::RE2 PkgConfig::ZSTD PkgConfig::RDKAFKA ZLIB::ZLIB OpenSSL::SSL OpenSSL::Crypto)
