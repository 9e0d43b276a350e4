# Every dependency comes from the platform's packages (scripts/install-deps).
find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET GLOBAL lmdb)
if(NOT TARGET traversion::lmdb)
  add_library(traversion::lmdb ALIAS PkgConfig::LMDB)
endif()
# RE2 (linear-time regular expressions) for the PII masker's configurable
# patterns; Debian's libre2-dev ships a pkg-config file only.
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET GLOBAL re2)
