# Opt-in sanitizers for local debugging: -DRAE_SANITIZE=address,undefined
set(RAE_SANITIZE "" CACHE STRING "Comma-separated sanitizers (address, undefined, thread); empty = none")
if(RAE_SANITIZE AND NOT MSVC)
  add_compile_options(-fsanitize=${RAE_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${RAE_SANITIZE})
endif()
