# Every dependency comes from the platform's packages (scripts/install-deps).
find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET GLOBAL lmdb)
if(NOT TARGET traversion::lmdb)
  add_library(traversion::lmdb ALIAS PkgConfig::LMDB)
endif()
