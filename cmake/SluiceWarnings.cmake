# -Werror applies to our own code only; dependency headers are included as SYSTEM.
function(sluice_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor
                                           -Wno-unused-parameter
                                           # GCC 12 false positive in std::string code at -O3
                                           # (GCC bug 105329); clang does not know the flag.
                                           $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
endfunction()

if(SLUICE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
