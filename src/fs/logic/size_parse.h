/*
 * size_parse.h — byte sizes as the config and the control commands write
 * them: decimal digits and an optional binary unit, K or KiB = 1024,
 * M or MiB = 1024², G or GiB = 1024³ (`4096`, `4K`, `1MiB`).
 */
#ifndef MMAPFS_SIZE_PARSE_H
#define MMAPFS_SIZE_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* The shift of unit (len bytes: "K", "KiB", ...), or -1 when it is none
 * of them. */
int mmapfs_size_unit_shift(const char *unit, size_t len);

/* Parses the len bytes at s. Returns 0 with *out; -EINVAL (no digits
 * first, or an unknown unit) or -EOVERFLOW (above UINT64_MAX), with the
 * reason in *why, a static predicate ("is too large"). */
int mmapfs_size_parse(const char *s, size_t len, uint64_t *out,
		      const char **why);

#endif /* MMAPFS_SIZE_PARSE_H */
