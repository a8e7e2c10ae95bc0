# One place for the warning set, so the library, the apps and the tests are held to the same bar.
function(mamsign_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Wunused -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion -Wformat=2
    -Wimplicit-fallthrough)
  # GCC 12 reports "memcpy may overlap" for plain `"text" + std::string` at -O2 (GCC PR 105329): noise.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(MAMSIGN_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
