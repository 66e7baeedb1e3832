#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Generate configure and Makefile.in (they are not kept in git).
set -e
cd "$(dirname "$0")"
autoreconf -fi
