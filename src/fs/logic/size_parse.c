/*
 * size_parse.c — byte sizes with binary units (size_parse.h), one parser
 * for the config (config_parse.c) and the control commands (ctl_parse.c),
 * so `4M` means the same wherever an admin writes it.
 *
 * Threads: no state; reentrant.
 */
#include "size_parse.h"

#include <errno.h>
#include <string.h>

static const struct {
	const char *name;
	unsigned shift;
} units[] = {
	{ "K", 10 }, { "KiB", 10 }, { "M", 20 }, { "MiB", 20 },
	{ "G", 30 }, { "GiB", 30 },
};

int mmapfs_size_unit_shift(const char *unit, size_t len)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == len &&
		    memcmp(unit, units[i].name, len) == 0)
			return (int)units[i].shift;
	return -1;
}

int mmapfs_size_parse(const char *s, size_t len, uint64_t *out,
		      const char **why)
{
	uint64_t v = 0;
	size_t i = 0;
	int shift = 0;

	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10) {
			*why = "is too large";
			return -EOVERFLOW;
		}
		v = v * 10 + d;
	}
	if (i == 0) {
		*why = "is not a decimal number of bytes (units: K, KiB, M, "
		       "MiB, G, GiB)";
		return -EINVAL;
	}
	if (i < len) {
		shift = mmapfs_size_unit_shift(s + i, len - i);
		if (shift < 0) {
			*why = "has an unknown unit (units: K, KiB, M, MiB, G, "
			       "GiB)";
			return -EINVAL;
		}
	}
	if (v > UINT64_MAX >> shift) {
		*why = "is too large";
		return -EOVERFLOW;
	}
	*out = v << shift;
	return 0;
}
