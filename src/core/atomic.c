/*
 * atomic.c — atomic 32/64-bit integers inside a mapping (docs/libmmapio.md).
 *
 * Design: each operation checks alignment (-EINVAL) and bounds (-ERANGE),
 * then runs under map_lock (read side, so the mapping cannot move) and the
 * SIGBUS guard (a truncated page is -EIO). The mapping's base is
 * page-aligned, so an aligned offset is an aligned address; the GCC
 * __atomic builtins on it are lock-free for 4 and 8 bytes on every 64-bit
 * target we build for. Both widths have load, store, exchange, fetch_add,
 * fetch_sub, fetch_and, fetch_or, fetch_xor and compare-exchange. Every
 * operation but a load and a failed compare-exchange (which stored
 * nothing) is accounted as a write after the lock is dropped: a locked
 * read-modify-write dirties the page even when the value stays the same.
 * For a pointer to hold instead of a call per operation, see the atomic
 * views (view.c).
 *
 * A file without a mapping has no memory to operate on: -ENODEV.
 *
 * Threads: any; the operations are sequentially consistent, and atomic
 * with respect to other processes mapping the same file too.
 */
#include "internal.h"

#include <errno.h>

enum atomic_op {
	OP_LOAD, OP_STORE, OP_XCHG, OP_ADD, OP_SUB, OP_AND, OP_OR, OP_XOR,
	OP_CAS,
};

struct atomic_req {
	void *addr;
	unsigned width;        /* 4 or 8 */
	enum atomic_op op;
	uint64_t value;        /* operand; cas: desired */
	uint64_t result;       /* load result, old value (rmw, cas); cas:
				* expected on the way in */
	bool swapped;
};

/* One operation on an integer type T (uint32_t or uint64_t) at r->addr. */
#define RUN_ATOMIC(T, r)                                                     \
	do {                                                                 \
		T *p_ = (r)->addr, v_ = (T)(r)->value, e_;                   \
		switch ((r)->op) {                                           \
		case OP_LOAD:                                                \
			(r)->result = __atomic_load_n(p_, __ATOMIC_SEQ_CST);  \
			break;                                               \
		case OP_STORE:                                               \
			__atomic_store_n(p_, v_, __ATOMIC_SEQ_CST);          \
			break;                                               \
		case OP_XCHG:                                                \
			(r)->result = __atomic_exchange_n(p_, v_,            \
							  __ATOMIC_SEQ_CST); \
			break;                                               \
		case OP_ADD:                                                 \
			(r)->result = __atomic_fetch_add(p_, v_,             \
							 __ATOMIC_SEQ_CST);  \
			break;                                               \
		case OP_SUB:                                                 \
			(r)->result = __atomic_fetch_sub(p_, v_,             \
							 __ATOMIC_SEQ_CST);  \
			break;                                               \
		case OP_AND:                                                 \
			(r)->result = __atomic_fetch_and(p_, v_,             \
							 __ATOMIC_SEQ_CST);  \
			break;                                               \
		case OP_OR:                                                  \
			(r)->result = __atomic_fetch_or(p_, v_,              \
							__ATOMIC_SEQ_CST);   \
			break;                                               \
		case OP_XOR:                                                 \
			(r)->result = __atomic_fetch_xor(p_, v_,             \
							 __ATOMIC_SEQ_CST);  \
			break;                                               \
		case OP_CAS:                                                 \
			e_ = (T)(r)->result;                                 \
			(r)->swapped = __atomic_compare_exchange_n(          \
				p_, &e_, v_, false, __ATOMIC_SEQ_CST,        \
				__ATOMIC_SEQ_CST);                           \
			(r)->result = e_;                                    \
			break;                                               \
		}                                                            \
	} while (0)

static int run_atomic(void *arg)
{
	struct atomic_req *r = arg;

	if (r->width == 4)
		RUN_ATOMIC(uint32_t, r);
	else
		RUN_ATOMIC(uint64_t, r);
	return 0;
}

/* Validates, runs r at off under the lock and the guard, accounts. */
static int atomic_at(struct mmapio_file *f, uint64_t off,
		     struct atomic_req *r)
{
	bool writes = r->op != OP_LOAD;
	int rc;

	if (mmapio__unmapped(f))
		return -ENODEV;
	if (off % r->width)
		return -EINVAL;
	if (writes && !f->writable)
		return -EBADF;
	mmapio__rdlock(&f->map_lock);
	if (!mmapio__range_ok(off, r->width,
			     atomic_load_explicit(&f->len,
						  memory_order_relaxed))) {
		rc = -ERANGE;
	} else {
		if (writes)
			rc = mmapio__prepare_write(f, off, r->width);
		else
			rc = 0;
		r->addr = f->base + off;
		if (rc == 0)
			rc = mmapio__guarded_call(run_atomic, r);
	}
	mmapio__rwunlock(&f->map_lock);
	if (rc < 0 || !writes || (r->op == OP_CAS && !r->swapped))
		return rc;
	return mmapio__state_account(f, off, r->width);
}

/* The public calls: one line each over atomic_at. */
static int load(struct mmapio_file *f, uint64_t off, unsigned width,
		uint64_t *out)
{
	struct atomic_req r = { .width = width, .op = OP_LOAD };
	int rc = atomic_at(f, off, &r);

	if (rc == 0)
		*out = r.result;
	return rc;
}

/* A read-modify-write (or store): old, when not NULL, gets the value
 * before. */
static int rmw(struct mmapio_file *f, uint64_t off, unsigned width,
	       enum atomic_op op, uint64_t value, uint64_t *old)
{
	struct atomic_req r = { .width = width, .op = op, .value = value };
	int rc = atomic_at(f, off, &r);

	if (rc == 0 && old)
		*old = r.result;
	return rc;
}

static int cas(struct mmapio_file *f, uint64_t off, unsigned width,
	       uint64_t *expected, uint64_t desired)
{
	struct atomic_req r = { .width = width, .op = OP_CAS,
				.value = desired, .result = *expected };
	int rc = atomic_at(f, off, &r);

	if (rc < 0)
		return rc;
	*expected = r.result;
	return r.swapped ? 1 : 0;
}

int mmapio_atomic_load_u32(struct mmapio_file *f, uint64_t off, uint32_t *out)
{
	uint64_t v;
	int rc = load(f, off, 4, &v);

	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

int mmapio_atomic_load_u64(struct mmapio_file *f, uint64_t off, uint64_t *out)
{
	return load(f, off, 8, out);
}

int mmapio_atomic_store_u32(struct mmapio_file *f, uint64_t off, uint32_t v)
{
	return rmw(f, off, 4, OP_STORE, v, NULL);
}

int mmapio_atomic_store_u64(struct mmapio_file *f, uint64_t off, uint64_t v)
{
	return rmw(f, off, 8, OP_STORE, v, NULL);
}

/* The 32-bit read-modify-writes hand the old value back as a uint32_t. */
static int rmw32(struct mmapio_file *f, uint64_t off, enum atomic_op op,
		 uint32_t value, uint32_t *old)
{
	uint64_t o;
	int rc = rmw(f, off, 4, op, value, &o);

	if (rc == 0 && old)
		*old = (uint32_t)o;
	return rc;
}

#define RMW_PAIR(name, op)                                                   \
	int mmapio_atomic_##name##_u32(struct mmapio_file *f, uint64_t off,  \
				       uint32_t v, uint32_t *old)            \
	{                                                                    \
		return rmw32(f, off, op, v, old);                            \
	}                                                                    \
	int mmapio_atomic_##name##_u64(struct mmapio_file *f, uint64_t off,  \
				       uint64_t v, uint64_t *old)            \
	{                                                                    \
		return rmw(f, off, 8, op, v, old);                           \
	}

RMW_PAIR(exchange, OP_XCHG)
RMW_PAIR(fetch_add, OP_ADD)
RMW_PAIR(fetch_sub, OP_SUB)
RMW_PAIR(fetch_and, OP_AND)
RMW_PAIR(fetch_or, OP_OR)
RMW_PAIR(fetch_xor, OP_XOR)

int mmapio_atomic_cas_u32(struct mmapio_file *f, uint64_t off,
			  uint32_t *expected, uint32_t desired)
{
	uint64_t e = *expected;
	int rc = cas(f, off, 4, &e, desired);

	if (rc >= 0)
		*expected = (uint32_t)e;
	return rc;
}

int mmapio_atomic_cas_u64(struct mmapio_file *f, uint64_t off,
			  uint64_t *expected, uint64_t desired)
{
	return cas(f, off, 8, expected, desired);
}
