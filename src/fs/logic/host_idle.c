/*
 * host_idle.c — reads the cpuidle settings' text (host_idle.h); the
 * daemon (daemon/host_hints.c) reads the files and logs the verdict.
 *
 * Threads: no state; reentrant.
 */
#include "host_idle.h"

#include <string.h>

/* True when s is word followed by nothing but an optional newline. */
static bool is_word(const char *s, const char *word)
{
	size_t n = strlen(word);

	return strncmp(s, word, n) == 0 &&
	       (s[n] == '\0' || (s[n] == '\n' && s[n + 1] == '\0'));
}

bool mmapfs_idle_halts_at_once(const char *driver, const char *poll_ns)
{
	return driver && poll_ns && is_word(driver, "haltpoll") &&
	       is_word(poll_ns, "0");
}
