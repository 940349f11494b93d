/*
 * dur_util.h — helpers shared by the durability unit tests
 * (test_{state,flush,flusher}.c): a temporary directory, an injected clock,
 * and a syscall table that counts msync/fdatasync/sync_file_range calls and
 * fails them on request.
 *
 * Threads: the counters are atomic (the flusher thread and writer threads
 * sync too); install/uninstall only while no other thread uses the library.
 */
#ifndef DUR_UTIL_H
#define DUR_UTIL_H

#include <stdatomic.h>
#include <stdint.h>

#include "state.h"
#include "sys.h"

struct dur_sys {
	atomic_int msync, fdatasync, sync_file_range;
	atomic_int fail_msync;       /* errno to fail msync with; 0: succeed */
	atomic_int fail_fdatasync;   /* errno to fail fdatasync with */
	_Atomic int64_t now;         /* the injected clock (ns) */
	_Atomic int64_t sync_cost;   /* each msync/fdatasync advances now by it */
};

extern struct dur_sys dur;

/* Creates the temporary directory (cmocka group setup). */
int dur_group_setup(void **state);
/* Removes it and restores the real syscalls (group teardown). */
int dur_group_teardown(void **state);

/* Per test: counters zeroed, injected clock at 1 s, counting syscalls
 * installed, flusher in manual mode (nothing fires but run_due). */
int dur_setup(void **state);
/* Per test: real syscalls and clock back, flusher shut down, manual off;
 * then drops the detached states and fails (-1) if any state is left in
 * the registry, i.e. the test leaked an open file or the engine a state. */
int dur_teardown(void **state);

/* Installs the counting syscalls but keeps the real clock and lets the
 * flusher thread run (real-time tests). */
void dur_use_real_clock(void);

/* dir/name: tmpdir_path(name) (a buffer of the calling thread's own, valid
 * for TMPDIR_PATH_SLOTS further calls in that thread). */
const char *dur_path(const char *name);

/* Creates dir/name (removing an old one) with size bytes and opens it RW
 * under policy text ("never", "bytes=8KiB", ...). Fails the test on error. */
struct mmapio_file *dur_create(const char *name, uint64_t size,
			       const char *policy);
/* Opens an existing dir/name RW under policy text. */
struct mmapio_file *dur_open(const char *name, const char *policy);

/* Writes len bytes of value c at off through mmapio_write; returns its
 * result. */
int dur_write(struct mmapio_file *f, uint64_t off, size_t len, int c);

/* Syncs counted since setup: msync + fdatasync. */
int dur_syncs(void);

#endif /* DUR_UTIL_H */
