# optimizer.cmake -- the optimizer: pattern matching and rewriting, the
# cost-based search, the fusion passes, weight pre-folding and lowering.
#
# Included from the top-level CMakeLists.txt after cost.cmake, before the
# library targets: appends optimizer/*.c to TASO_SOURCES, tells taso-opt
# where to look for the shipped rule file (the install prefix's
# share/taso/rules.bin, then <exe dir>/../data/rules.bin, then this source
# tree's data/rules.bin), and installs data/rules.bin when it exists.

list(APPEND TASO_SOURCES optimizer/match.c optimizer/search.c optimizer/fuse.c optimizer/prefold.c optimizer/lift.c optimizer/layouts.c)

include(GNUInstallDirs)
set_property(SOURCE ${CMAKE_SOURCE_DIR}/cli/taso_opt.c cli/taso_opt.c APPEND PROPERTY COMPILE_DEFINITIONS
  "TASO_RULES_INSTALLED=\"${CMAKE_INSTALL_FULL_DATADIR}/taso/rules.bin\""
  "TASO_RULES_SOURCE=\"${CMAKE_SOURCE_DIR}/data/rules.bin\"")
if(EXISTS ${CMAKE_SOURCE_DIR}/data/rules.bin)
  install(FILES ${CMAKE_SOURCE_DIR}/data/rules.bin DESTINATION ${CMAKE_INSTALL_DATADIR}/taso)
endif()
