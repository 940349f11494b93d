/*
 * atomic.c — atomic 32/64-bit integers inside a mapping (DESIGN §3.2).
 *
 * Design: each operation checks alignment (-EINVAL) and bounds (-ERANGE),
 * then runs under map_lock (read side, so the mapping cannot move) and the
 * SIGBUS guard (a truncated page is -EIO). The mapping's base is
 * page-aligned, so an aligned offset is an aligned address; the GCC
 * __atomic builtins on it are lock-free for 4 and 8 bytes on every 64-bit
 * target we build for. Stores, additions and successful compare-exchanges
 * are accounted as writes after the lock is dropped; a failed
 * compare-exchange stored nothing and is not.
 *
 * A file without a mapping has no memory to operate on: -ENODEV.
 *
 * Threads: any; the operations are sequentially consistent, and atomic
 * with respect to other processes mapping the same file too.
 */
#include "internal.h"

#include <errno.h>

enum atomic_op { OP_LOAD, OP_STORE, OP_ADD, OP_CAS };

struct atomic_req {
	void *addr;
	unsigned width;        /* 4 or 8 */
	enum atomic_op op;
	uint64_t value;        /* store / add operand, cas desired */
	uint64_t result;       /* load result, old value (add, cas) */
	bool swapped;
};

static int run_atomic(void *arg)
{
	struct atomic_req *r = arg;

	if (r->width == 4) {
		uint32_t *p = r->addr;

		if (r->op == OP_LOAD)
			r->result = __atomic_load_n(p, __ATOMIC_SEQ_CST);
		else
			__atomic_store_n(p, (uint32_t)r->value,
					 __ATOMIC_SEQ_CST);
		return 0;
	}

	uint64_t *p = r->addr;
	uint64_t expected;

	switch (r->op) {
	case OP_LOAD:
		r->result = __atomic_load_n(p, __ATOMIC_SEQ_CST);
		break;
	case OP_STORE:
		__atomic_store_n(p, r->value, __ATOMIC_SEQ_CST);
		break;
	case OP_ADD:
		r->result = __atomic_fetch_add(p, r->value, __ATOMIC_SEQ_CST);
		break;
	case OP_CAS:
		expected = r->result;
		r->swapped = __atomic_compare_exchange_n(p, &expected, r->value,
							 false, __ATOMIC_SEQ_CST,
							 __ATOMIC_SEQ_CST);
		r->result = expected;
		break;
	}
	return 0;
}

/* Validates, runs r at off under the lock and the guard, accounts. */
static int atomic_at(struct mmapio_file *f, uint64_t off,
		     struct atomic_req *r)
{
	bool writes = r->op != OP_LOAD;
	int rc;

	if (f->unmapped)
		return -ENODEV;
	if (off % r->width)
		return -EINVAL;
	if (writes && !f->writable)
		return -EBADF;
	pthread_rwlock_rdlock(&f->map_lock);
	if (!mmapio_range_ok(off, r->width,
			     atomic_load_explicit(&f->len,
						  memory_order_relaxed))) {
		rc = -ERANGE;
	} else {
		if (writes)
			rc = mmapio_prepare_write(f, off, r->width);
		else
			rc = 0;
		r->addr = f->base + off;
		if (rc == 0)
			rc = mmapio_guarded_call(run_atomic, r);
	}
	pthread_rwlock_unlock(&f->map_lock);
	if (rc < 0 || !writes || (r->op == OP_CAS && !r->swapped))
		return rc;
	return mmapio_state_account(f, off, r->width);
}

int mmapio_atomic_load_u32(struct mmapio_file *f, uint64_t off, uint32_t *out)
{
	struct atomic_req r = { .width = 4, .op = OP_LOAD };
	int rc = atomic_at(f, off, &r);

	if (rc == 0)
		*out = (uint32_t)r.result;
	return rc;
}

int mmapio_atomic_load_u64(struct mmapio_file *f, uint64_t off, uint64_t *out)
{
	struct atomic_req r = { .width = 8, .op = OP_LOAD };
	int rc = atomic_at(f, off, &r);

	if (rc == 0)
		*out = r.result;
	return rc;
}

int mmapio_atomic_store_u32(struct mmapio_file *f, uint64_t off, uint32_t v)
{
	struct atomic_req r = { .width = 4, .op = OP_STORE, .value = v };

	return atomic_at(f, off, &r);
}

int mmapio_atomic_store_u64(struct mmapio_file *f, uint64_t off, uint64_t v)
{
	struct atomic_req r = { .width = 8, .op = OP_STORE, .value = v };

	return atomic_at(f, off, &r);
}

int mmapio_atomic_fetch_add_u64(struct mmapio_file *f, uint64_t off,
				uint64_t add, uint64_t *old)
{
	struct atomic_req r = { .width = 8, .op = OP_ADD, .value = add };
	int rc = atomic_at(f, off, &r);

	if (rc == 0 && old)
		*old = r.result;
	return rc;
}

int mmapio_atomic_cas_u64(struct mmapio_file *f, uint64_t off,
			  uint64_t *expected, uint64_t desired)
{
	struct atomic_req r = { .width = 8, .op = OP_CAS, .value = desired,
				.result = *expected };
	int rc = atomic_at(f, off, &r);

	if (rc < 0)
		return rc;
	*expected = r.result;
	return r.swapped ? 1 : 0;
}
