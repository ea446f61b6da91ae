/*
 * builtin_none.c - no image of the built-in default policy: a cross build
 * cannot run preload/gen_builtin (configure), so ksmp_policy_default()
 * parses policy/builtin.c's text at start and the constructor formats it.
 */
#include <stddef.h>

#include "builtin_image.h"

const struct ksmp_policy *const ksmp_builtin_image = NULL;
const char ksmp_builtin_image_text[] = "";
const unsigned long ksmp_builtin_image_text_len = 0;
