include(GoogleTest)

# floorgate_test(<name> LABELS <unit|integration|fault|browser|bench>... SOURCES ... LIBS ...)
# One GoogleTest executable; every test case is registered with CTest via gtest_discover_tests
# and carries the labels, so `ctest -L unit` runs the fast set alone.
function(floorgate_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "LABELS;SOURCES;LIBS;ENV" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE floorgate::options floorgate::warnings
    GTest::gtest GTest::gmock GTest::gtest_main ${T_LIBS})
  target_compile_definitions(${name} PRIVATE
    FLOORGATE_BINARY_DIR="${PROJECT_BINARY_DIR}"
    FLOORGATE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(CMAKE_CROSSCOMPILING_EMULATOR)
    # Cross-built tests (arm64 under qemu-aarch64): programs of this build that a test starts
    # run through the emulator too (tests/support/test_process.hpp).
    target_compile_definitions(${name} PRIVATE
      FLOORGATE_TEST_EMULATOR="${CMAKE_CROSSCOMPILING_EMULATOR}")
  endif()
  gtest_discover_tests(${name}
    PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT} ENVIRONMENT "${T_ENV}"
    DISCOVERY_TIMEOUT 60)
endfunction()

# floorgate_bench_program(<name> SOURCES ... LIBS ... [DEPENDS <target>...]): a program that only
# tests/bench/ runs (on the release build). Skipped with FLOORGATE_BENCH=OFF, which the ci preset
# sets: they are not CTest tests, and compiling them with sanitizers cost the CI build a minute.
function(floorgate_bench_program name)
  if(NOT FLOORGATE_BENCH)
    return()
  endif()
  cmake_parse_arguments(B "" "" "SOURCES;LIBS;DEPENDS" ${ARGN})
  add_executable(${name} ${B_SOURCES})
  target_link_libraries(${name} PRIVATE floorgate::options floorgate::warnings ${B_LIBS})
  target_compile_definitions(${name} PRIVATE FLOORGATE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  foreach(dep IN LISTS B_DEPENDS)
    if(TARGET ${dep})
      add_dependencies(${name} ${dep})
    endif()
  endforeach()
endfunction()
