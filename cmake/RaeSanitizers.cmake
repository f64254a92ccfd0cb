# Opt-in sanitizers for local debugging and CI: -DRAE_SANITIZE=address,undefined (or thread).
# UBSan findings abort (-fno-sanitize-recover) so that ctest fails on them. Python extensions
# built this way need the sanitizer runtime preloaded (see docs/building.md).
set(RAE_SANITIZE "" CACHE STRING "Comma-separated sanitizers (address, undefined, thread); empty = none")
if(RAE_SANITIZE)
  if(MSVC)
    if(RAE_SANITIZE MATCHES "address")
      add_compile_options(/fsanitize=address)
    else()
      message(WARNING "MSVC supports only RAE_SANITIZE=address")
    endif()
  else()
    add_compile_options(-fsanitize=${RAE_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
    add_link_options(-fsanitize=${RAE_SANITIZE})
  endif()
endif()
