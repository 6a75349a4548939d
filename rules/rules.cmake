# rules.cmake -- the rules module: rule sets and checks, the binary rule
# file (docs/rules-format.md), the text form, and the `taso-rules` tool.
# Included from the top-level CMakeLists.txt before the library targets:
# appends rules/*.c to TASO_SOURCES and defines the executable taso-rules
# (its target is created here and links taso_internal, defined later; CMake
# resolves target names at generate time).

list(APPEND TASO_SOURCES rules/rules.c rules/file.c rules/text.c)

add_executable(taso-rules cli/taso_rules.c)
target_compile_options(taso-rules PRIVATE ${TASO_WARNINGS})
target_link_libraries(taso-rules PRIVATE taso_internal)
install(TARGETS taso-rules)
