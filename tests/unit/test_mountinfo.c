/*
 * test_mountinfo.c — logic/mountinfo.c: the top mount on a path, from
 * mountinfo text (fmemopen): the last line for a mount point wins, octal
 * escapes in mount points are decoded, and a path with no mount is
 * reported as such.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "logic/mountinfo.h"

static const char mountinfo[] =
	"21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	"40 21 0:41 / /srv/data rw,nosuid shared:20 - ext4 /dev/sdb1 rw\n"
	"52 40 0:52 / /srv/data rw,nosuid,nodev - fuse.mmapfs /srv/data rw,user_id=0\n"
	"60 21 0:60 / /tmp/my\\040mount rw - fuse.mmapfs /tmp/b rw\n"
	"garbage line without separator\n";

static bool top(const char *path, char *type, char *dev)
{
	FILE *f = fmemopen((void *)mountinfo, sizeof(mountinfo) - 1, "r");
	bool found;

	assert_non_null(f);
	found = mmapfs_mountinfo_top_in(f, path, type, 64, dev, 32);
	fclose(f);
	return found;
}

static void test_last_line_wins(void **state)
{
	char type[64], dev[32];

	(void)state;
	assert_true(top("/srv/data", type, dev));
	assert_string_equal(type, "fuse.mmapfs");
	assert_string_equal(dev, "0:52");
	assert_true(top("/", type, dev));
	assert_string_equal(type, "ext4");
}

static void test_escapes_and_absence(void **state)
{
	char type[64], dev[32];

	(void)state;
	assert_true(top("/tmp/my mount", type, dev));
	assert_string_equal(dev, "0:60");
	assert_false(top("/tmp/my\\040mount", type, dev));
	assert_false(top("/nowhere", type, dev));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_last_line_wins),
		cmocka_unit_test(test_escapes_and_absence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
