/*
 * test_fs_cmdline.c — unit tests of the mmapfs command-line parser
 * (src/fs/cmdline.c): positional paths before and after options, flags,
 * -o lists (joined and separate, escaped commas), mmapfs's own options,
 * mount(8)'s generic options dropped or passed on, allow_other implying
 * default_permissions, and every error.
 *
 * Single-threaded; no files touched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "logic/cmdline.h"

static struct mmapfs_cmdline cl;
static char err[256];

/* Parses a NULL-terminated list of arguments (argv[0] added). */
#define PARSE(...) parse_argv((const char *[]){ "mmapfs", __VA_ARGS__, NULL })

static int parse_argv(const char **args)
{
	int argc = 0;

	while (args[argc])
		argc++;
	err[0] = '\0';
	return mmapfs_cmdline_parse(argc, (char **)args, &cl, err, sizeof(err));
}

static void expect_fail(int res, const char *needle)
{
	assert_int_equal(res, -EINVAL);
	assert_non_null(strstr(err, needle));
}

static void test_paths_and_flags(void **state)
{
	(void)state;
	assert_int_equal(PARSE("/b", "/m", "-f", "-s"), 0);
	assert_string_equal(cl.backing, "/b");
	assert_string_equal(cl.mountpoint, "/m");
	assert_true(cl.foreground);
	assert_true(cl.single_thread);
	assert_false(cl.debug);
	assert_string_equal(cl.fuse_opts, "");
	assert_null(cl.config);
	mmapfs_cmdline_free(&cl);

	/* options first, as mount.fuse3 may pass them; -d implies -f */
	assert_int_equal(PARSE("-d", "-o", "ro", "/b", "/m"), 0);
	assert_string_equal(cl.backing, "/b");
	assert_string_equal(cl.mountpoint, "/m");
	assert_true(cl.debug);
	assert_true(cl.foreground);
	assert_string_equal(cl.fuse_opts, "ro");
	mmapfs_cmdline_free(&cl);

	/* "--" ends the flags: a path may start with '-' */
	assert_int_equal(PARSE("-f", "--", "-b", "/m"), 0);
	assert_string_equal(cl.backing, "-b");
	mmapfs_cmdline_free(&cl);
}

static void test_own_options(void **state)
{
	(void)state;
	assert_int_equal(PARSE("/b", "/m", "-o",
			       "config=/etc/x.ini,log_level=debug,transport=dev"),
			 0);
	assert_string_equal(cl.config, "/etc/x.ini");
	assert_string_equal(cl.log_level, "debug");
	assert_string_equal(cl.transport, "dev");
	assert_false(cl.auto_unmount);
	assert_string_equal(cl.fuse_opts, "");
	mmapfs_cmdline_free(&cl);

	/* joined -oLIST, repeated -o, the last config= wins */
	assert_int_equal(PARSE("/b", "/m", "-oconfig=a", "-o", "config=b"), 0);
	assert_string_equal(cl.config, "b");
	mmapfs_cmdline_free(&cl);

	/* an escaped comma stays in the value */
	assert_int_equal(PARSE("/b", "/m", "-o", "config=a\\,b.ini,ro"), 0);
	assert_string_equal(cl.config, "a,b.ini");
	assert_string_equal(cl.fuse_opts, "ro");
	mmapfs_cmdline_free(&cl);

	expect_fail(PARSE("/b", "/m", "-o", "config="), "config=");
}

static void test_generic_mount_options(void **state)
{
	(void)state;
	assert_int_equal(PARSE("/b", "/m", "-o",
			       "rw,defaults,noatime,atime,relatime,dev,nodev,"
			       "suid,nosuid,exec,noexec,auto,noauto,nofail,"
			       "_netdev,user,users,x-systemd.automount"), 0);
	/* what libfuse understands is passed on, the rest dropped */
	assert_string_equal(cl.fuse_opts,
			    "rw,noatime,dev,nodev,suid,nosuid,exec,noexec");
	mmapfs_cmdline_free(&cl);

	/* anything else goes to libfuse, which rejects what it does not know */
	assert_int_equal(PARSE("/b", "/m", "-o", "auto_unmount,max_read=65536"),
			 0);
	assert_string_equal(cl.fuse_opts, "auto_unmount,max_read=65536");
	assert_true(cl.auto_unmount);
	mmapfs_cmdline_free(&cl);
}

static void test_allow_other_implies_default_permissions(void **state)
{
	(void)state;
	assert_int_equal(PARSE("/b", "/m", "-o", "allow_other"), 0);
	assert_true(cl.allow_other);
	assert_true(cl.default_permissions);
	assert_string_equal(cl.fuse_opts, "allow_other,default_permissions");
	mmapfs_cmdline_free(&cl);

	/* not added twice */
	assert_int_equal(PARSE("/b", "/m", "-o",
			       "default_permissions,allow_other"), 0);
	assert_string_equal(cl.fuse_opts, "default_permissions,allow_other");
	mmapfs_cmdline_free(&cl);
}

static void test_fsname_escaped(void **state)
{
	(void)state;
	assert_int_equal(PARSE("/b", "/m", "-o", "fsname=a\\,b,subtype=x"), 0);
	assert_true(cl.has_fsname);
	assert_true(cl.has_subtype);
	/* re-escaped for libfuse's own option parser */
	assert_string_equal(cl.fuse_opts, "fsname=a\\,b,subtype=x");
	mmapfs_cmdline_free(&cl);
}

static void test_help_version_check(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--help"), 0);
	assert_true(cl.help);
	assert_null(cl.backing);
	mmapfs_cmdline_free(&cl);

	assert_int_equal(PARSE("-V"), 0);
	assert_true(cl.version);
	mmapfs_cmdline_free(&cl);

	assert_int_equal(PARSE("--check-config", "f.ini"), 0);
	assert_string_equal(cl.check_config, "f.ini");
	mmapfs_cmdline_free(&cl);

	assert_int_equal(PARSE("--check-config=g.ini"), 0);
	assert_string_equal(cl.check_config, "g.ini");
	mmapfs_cmdline_free(&cl);
}

/* Config keys given as -o KEY=VALUE are kept, in order, for the config
 * loader; they never reach libfuse. */
static void test_config_overrides(void **state)
{
	(void)state;
	assert_int_equal(PARSE("/b", "/m", "-o",
			       "flush=bytes=4MiB\\,ms=500,ro,lock=true",
			       "-o", "flush=always"), 0);
	assert_int_equal(cl.noverrides, 3);
	assert_string_equal(cl.overrides[0].key, "flush");
	assert_string_equal(cl.overrides[0].value, "bytes=4MiB,ms=500");
	assert_string_equal(cl.overrides[1].key, "lock");
	assert_string_equal(cl.overrides[1].value, "true");
	assert_string_equal(cl.overrides[2].value, "always");
	assert_string_equal(cl.fuse_opts, "ro");
	mmapfs_cmdline_free(&cl);
	assert_null(cl.overrides);

	expect_fail(PARSE("/b", "/m", "-o", "show_control"),
		    "show_control needs a value");
	expect_fail(PARSE("/b", "/m", "-o", "flush="), "flush=VALUE");
}

static void test_errors(void **state)
{
	(void)state;
	expect_fail(PARSE("/b", "/m", "-x"), "unknown option '-x'");
	expect_fail(PARSE("/b", "/m", "--bogus"), "unknown option '--bogus'");
	expect_fail(PARSE("/b", "/m", "/extra"), "unexpected argument '/extra'");
	expect_fail(PARSE("/b", "/m", "-o"), "-o needs");
	expect_fail(PARSE("--check-config"), "--check-config needs");
	expect_fail(PARSE("/b", "/m", "-o", "log_level="), "log_level=");
	expect_fail(PARSE("/b", "/m", "-o", "metrics_listen="),
		    "metrics_listen=");
	expect_fail(PARSE("/b", "/m", "-o", "metrics_listen=host:80"),
		    "metrics_listen: bad address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_and_flags),
		cmocka_unit_test(test_own_options),
		cmocka_unit_test(test_generic_mount_options),
		cmocka_unit_test(test_allow_other_implies_default_permissions),
		cmocka_unit_test(test_fsname_escaped),
		cmocka_unit_test(test_help_version_check),
		cmocka_unit_test(test_config_overrides),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
