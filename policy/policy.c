/* policy.c - placeholder until the parser lands. */
#include "policy.h"
