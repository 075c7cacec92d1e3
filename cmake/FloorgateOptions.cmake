# Shared INTERFACE targets every floorgate target links: floorgate::options (language level,
# sanitizers) and floorgate::warnings (diagnostics; -Werror with FLOORGATE_WERROR).
add_library(floorgate_options INTERFACE)
add_library(floorgate::options ALIAS floorgate_options)
target_compile_features(floorgate_options INTERFACE cxx_std_20)
# Beast's string_view is boost::core::string_view in 1.81, which converts to and from
# std::string_view; BOOST_BEAST_USE_STD_STRING_VIEW is deprecated and only adds a #pragma
# message to every Beast translation unit.
target_compile_definitions(floorgate_options INTERFACE BOOST_ASIO_NO_DEPRECATED)
if(FLOORGATE_SANITIZE)
  target_compile_options(floorgate_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(floorgate_options INTERFACE -fsanitize=address,undefined)
endif()
# A failed FG_CHECK (core/check.hpp) aborts in debug and sanitizer builds (every test build);
# a release build counts and logs it instead.
if(FLOORGATE_SANITIZE OR CMAKE_BUILD_TYPE STREQUAL "Debug")
  target_compile_definitions(floorgate_options INTERFACE FLOORGATE_CHECK_ABORT=1)
endif()

add_library(floorgate_warnings INTERFACE)
add_library(floorgate::warnings ALIAS floorgate_warnings)
target_compile_options(floorgate_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow=local
  -Wnon-virtual-dtor -Wno-missing-field-initializers)
if(CMAKE_UNITY_BUILD AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # A unity build compiles each .cpp as an #include of a generated file; GCC then takes types
  # from a .cpp's anonymous namespace (test fixtures, pimpl members) for header types and
  # warns. The premise of the warning (a header included by several files) does not hold.
  target_compile_options(floorgate_warnings INTERFACE -Wno-subobject-linkage)
endif()
if(FLOORGATE_WERROR)
  target_compile_options(floorgate_warnings INTERFACE -Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12's flow-based warnings misfire on inlined std::string code at -O2/-O3, worse with
    # ASan instrumentation (e.g. GCC bug 105329, -Wrestrict on basic_string::_M_replace).
    # They stay visible as warnings; they just do not fail the build.
    target_compile_options(floorgate_warnings INTERFACE -Wno-error=restrict
      -Wno-error=stringop-overflow -Wno-error=stringop-overread -Wno-error=array-bounds
      -Wno-error=maybe-uninitialized)
  endif()
endif()

# floorgate_module(<name> [PUBLIC_LIBS ...] [PRIVATE_LIBS ...] [EXCLUDE <regex>]): one static
# library per top-level folder from <folder>/src/**.cpp with headers under <folder>/include;
# sources whose path matches EXCLUDE belong to a component library of their own.
function(floorgate_module name)
  cmake_parse_arguments(M "" "EXCLUDE" "PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  if(M_EXCLUDE)
    list(FILTER srcs EXCLUDE REGEX "${M_EXCLUDE}")
  endif()
  add_library(floorgate_${name} STATIC ${srcs})
  add_library(floorgate::${name} ALIAS floorgate_${name})
  target_include_directories(floorgate_${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(floorgate_${name}
    PUBLIC floorgate::options ${M_PUBLIC_LIBS}
    PRIVATE floorgate::warnings ${M_PRIVATE_LIBS})
endfunction()

# floorgate_fuzz_target(<name> SOURCES ... LIBS ... [INSTRUMENT <library target>]): a libFuzzer
# program (FLOORGATE_FUZZ=ON with clang, the `fuzz` preset), sanitized; INSTRUMENT also gives
# the library under test coverage feedback and the sanitizers. Without clang: nothing.
function(floorgate_fuzz_target name)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    return()
  endif()
  cmake_parse_arguments(F "" "INSTRUMENT" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${F_SOURCES})
  target_link_libraries(${name} PRIVATE floorgate::warnings ${F_LIBS})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  if(F_INSTRUMENT)
    target_compile_options(${F_INSTRUMENT} PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
  endif()
endfunction()
