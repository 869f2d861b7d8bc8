/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CRIU_FDS_H
#define CRIU_FDS_H
#include <stddef.h>

/* Make the files and objects of criu_fds.c; 0, or -1 with @why filled. */
int fds_setup(const char *dir, char *why, size_t len);
/* Check them after the restore; 0 with @why naming them, or -1. */
int fds_verify(char *why, size_t len);
#endif
