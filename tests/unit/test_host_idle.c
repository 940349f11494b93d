/*
 * test_host_idle.c — logic/host_idle.c: only haltpoll with a zero poll
 * window halts at once; other drivers, other windows, unreadable files
 * and malformed text claim nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "logic/host_idle.h"

static void test_haltpoll_without_polling_halts(void **state)
{
	(void)state;
	assert_true(mmapfs_idle_halts_at_once("haltpoll\n", "0\n"));
	assert_true(mmapfs_idle_halts_at_once("haltpoll", "0"));
}

static void test_polling_or_other_drivers_do_not(void **state)
{
	(void)state;
	assert_false(mmapfs_idle_halts_at_once("haltpoll\n", "200000\n"));
	assert_false(mmapfs_idle_halts_at_once("intel_idle\n", "0\n"));
	assert_false(mmapfs_idle_halts_at_once("acpi_idle\n", NULL));
}

static void test_unreadable_or_malformed_claims_nothing(void **state)
{
	(void)state;
	assert_false(mmapfs_idle_halts_at_once(NULL, "0\n"));
	assert_false(mmapfs_idle_halts_at_once("haltpoll\n", NULL));
	assert_false(mmapfs_idle_halts_at_once("haltpoll\n", ""));
	assert_false(mmapfs_idle_halts_at_once("haltpoll\n", "00\n"));
	assert_false(mmapfs_idle_halts_at_once("haltpoll\n", "0\n\n"));
	assert_false(mmapfs_idle_halts_at_once("haltpollx\n", "0\n"));
	assert_false(mmapfs_idle_halts_at_once("", "0\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_haltpoll_without_polling_halts),
		cmocka_unit_test(test_polling_or_other_drivers_do_not),
		cmocka_unit_test(test_unreadable_or_malformed_claims_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
