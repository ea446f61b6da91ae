/*
 * builtin_image.h - the built-in default policy as ksmp_policy_default()
 * parses it and its canonical text, made at build time by
 * preload/gen_builtin (builtin_image.c in the build tree).
 */
#ifndef KSMP_BUILTIN_IMAGE_H
#define KSMP_BUILTIN_IMAGE_H

#include "policy.h"

/* NULL in a cross build (preload/builtin_none.c): nothing to copy */
extern const struct ksmp_policy *const ksmp_builtin_image;
extern const char ksmp_builtin_image_text[];
extern const unsigned long ksmp_builtin_image_text_len;

#endif
