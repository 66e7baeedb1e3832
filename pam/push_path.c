/* SPDX-License-Identifier: BSD-3-Clause */
/* The push client's path, from the build (Makefile.am). */
#include "config.h"

#include "push_path.h"

#ifndef PHIGUARD_PUSH_OBJECT
#error "PHIGUARD_PUSH_OBJECT must name push.so by absolute path (Makefile.am)"
#endif

const char push_path_object[] = PHIGUARD_PUSH_OBJECT;
