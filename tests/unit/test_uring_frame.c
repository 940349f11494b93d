/*
 * test_uring_frame.c — the framing of FUSE over io_uring ring entries
 * (src/fs/uring_frame.c), without a kernel: entries are filled as the
 * kernel's fuse_uring_args_to_ring() fills them, and replies are checked
 * as its fuse_uring_commit() reads them.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "logic/uring_frame.h"

#define PAYLOAD (64 * 1024)

struct entry {
	char *mem;
	size_t size;
	struct uring_frame f;
};

static int setup(void **state)
{
	struct entry *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->size = URING_FRAME_FRONT + PAYLOAD;
	e->mem = mmap(NULL, e->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(e->mem != MAP_FAILED);
	e->f.hdr = (void *)e->mem;
	e->f.payload = e->mem + URING_FRAME_FRONT;
	e->f.payload_size = PAYLOAD;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct entry *e = *state;

	munmap(e->mem, e->size);
	free(e);
	return 0;
}

/* Fills the entry as the kernel does: in header in in_out, the fixed
 * argument in op_in, the rest in the payload. */
static void kernel_fill(struct entry *e, uint32_t opcode, uint64_t unique,
			const void *op, size_t oplen, const void *payload,
			size_t plen)
{
	struct fuse_in_header in = {
		.len = (uint32_t)(sizeof(in) + oplen + plen),
		.opcode = opcode,
		.unique = unique,
		.nodeid = 7,
	};

	memcpy(e->f.hdr->in_out, &in, sizeof(in));
	memcpy(e->f.hdr->op_in, op, oplen);
	memcpy(e->f.payload, payload, plen);
	e->f.hdr->ring_ent_in_out.commit_id = unique;
	e->f.hdr->ring_ent_in_out.payload_sz = (uint32_t)plen;
}

static void test_write_request(void **state)
{
	struct entry *e = *state;
	struct fuse_write_in w = { .fh = 3, .offset = 8192, .size = 5 };
	struct fuse_in_header in;
	char *start, *payload_before = e->f.payload;
	size_t len;
	uint64_t unique;

	kernel_fill(e, FUSE_WRITE, 42, &w, sizeof(w), "hello", 5);
	assert_int_equal(uring_frame_request(&e->f, &start, &len, &unique), 0);
	assert_int_equal(unique, 42);
	assert_int_equal(len, sizeof(in) + sizeof(w) + 5);
	/* Contiguous as /dev/fuse delivers it, ending where the payload's
	 * bytes end: the payload itself was not moved. */
	assert_ptr_equal(start + sizeof(in) + sizeof(w), payload_before);
	memcpy(&in, start, sizeof(in));
	assert_int_equal(in.opcode, FUSE_WRITE);
	assert_int_equal(in.nodeid, 7);
	assert_int_equal(in.len, len);
	assert_memory_equal(start + sizeof(in), &w, sizeof(w));
	assert_memory_equal(start + sizeof(in) + sizeof(w), "hello", 5);
}

static void test_request_without_fixed_argument(void **state)
{
	struct entry *e = *state;
	char *start;
	size_t len;
	uint64_t unique;

	/* LOOKUP: an empty in_args[0], the name in the payload. */
	kernel_fill(e, FUSE_LOOKUP, 9, "", 0, "name", 5);
	assert_int_equal(uring_frame_request(&e->f, &start, &len, &unique), 0);
	assert_int_equal(len, sizeof(struct fuse_in_header) + 5);
	assert_string_equal(start + sizeof(struct fuse_in_header), "name");
}

static void test_malformed_requests(void **state)
{
	struct entry *e = *state;
	char big[MMAPFS_FUSE_URING_OP_IN_OUT_SZ + 8] = { 0 }, *start;
	struct fuse_in_header in;
	size_t len;
	uint64_t unique;

	/* len shorter than header + payload */
	kernel_fill(e, FUSE_WRITE, 1, "", 0, "abcd", 4);
	memcpy(&in, e->f.hdr->in_out, sizeof(in));
	in.len = sizeof(in) + 2;
	memcpy(e->f.hdr->in_out, &in, sizeof(in));
	assert_int_equal(uring_frame_request(&e->f, &start, &len, &unique),
			 -EPROTO);
	/* a fixed argument larger than op_in */
	kernel_fill(e, FUSE_SETATTR, 1, big, 0, "", 0);
	memcpy(&in, e->f.hdr->in_out, sizeof(in));
	in.len = sizeof(in) + sizeof(big);
	memcpy(e->f.hdr->in_out, &in, sizeof(in));
	assert_int_equal(uring_frame_request(&e->f, &start, &len, &unique),
			 -EPROTO);
	/* payload_sz beyond the buffer */
	kernel_fill(e, FUSE_WRITE, 1, "", 0, "", 0);
	e->f.hdr->ring_ent_in_out.payload_sz = PAYLOAD + 1;
	memcpy(&in, e->f.hdr->in_out, sizeof(in));
	in.len = sizeof(in) + PAYLOAD + 1;
	memcpy(e->f.hdr->in_out, &in, sizeof(in));
	assert_int_equal(uring_frame_request(&e->f, &start, &len, &unique),
			 -EPROTO);
}

/* Checks the entry as fuse_uring_commit() reads it. */
static void assert_committed(struct entry *e, uint64_t unique, int error,
			     const void *body, size_t blen)
{
	struct fuse_out_header out;

	memcpy(&out, e->f.hdr->in_out, sizeof(out));
	assert_int_equal(out.unique, unique);
	assert_int_equal(out.error, error);
	assert_int_equal(out.len, sizeof(out) + blen);
	assert_int_equal(e->f.hdr->ring_ent_in_out.payload_sz, blen);
	if (blen)
		assert_memory_equal(e->f.payload, body, blen);
}

static void test_reply_gathers_arguments(void **state)
{
	struct entry *e = *state;
	struct fuse_out_header out = { .unique = 42 };
	struct fuse_entry_out eo = { .nodeid = 5, .generation = 1 };
	struct iovec iov[3] = {
		{ &out, sizeof(out) },
		{ &eo, sizeof(eo) },
		{ "tail", 4 },
	};
	char expect[sizeof(eo) + 4];

	memcpy(expect, &eo, sizeof(eo));
	memcpy(expect + sizeof(eo), "tail", 4);
	for (int safe = 0; safe < 2; safe++) {
		memset(e->f.payload, 0, 256);
		assert_int_equal(uring_frame_reply(&e->f, iov, 3, safe),
				 sizeof(out) + sizeof(expect));
		assert_committed(e, 42, 0, expect, sizeof(expect));
	}
}

static void test_reply_header_only(void **state)
{
	struct entry *e = *state;
	struct fuse_out_header out = { .unique = 3, .error = -ENOENT };
	struct iovec iov[1] = { { &out, sizeof(out) } };

	assert_int_equal(uring_frame_reply(&e->f, iov, 1, false), sizeof(out));
	assert_committed(e, 3, -ENOENT, NULL, 0);
}

static void test_reply_errors(void **state)
{
	struct entry *e = *state;
	struct fuse_out_header out = { .unique = 8 };
	struct iovec too_big[2] = { { &out, sizeof(out) },
				    { e->mem, PAYLOAD + 1 } };
	struct iovec short_head[1] = { { &out, sizeof(out) - 1 } };
	long page = sysconf(_SC_PAGESIZE);
	char *hole = mmap(NULL, (size_t)page, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iovec unreadable[2] = { { &out, sizeof(out) },
				       { hole, 16 } };

	assert_true(hole != MAP_FAILED);
	assert_int_equal(uring_frame_reply(&e->f, too_big, 2, false),
			 -EMSGSIZE);
	assert_int_equal(uring_frame_reply(&e->f, short_head, 1, false),
			 -EINVAL);
	assert_int_equal(uring_frame_reply(&e->f, short_head, 0, false),
			 -EINVAL);
	/* A page that cannot be read fails the copy instead of faulting. */
	assert_int_equal(uring_frame_reply(&e->f, unreadable, 2, true),
			 -EFAULT);
	munmap(hole, (size_t)page);
	uring_frame_error(&e->f, 8, -EIO);
	assert_committed(e, 8, -EIO, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_request, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_request_without_fixed_argument, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_requests, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reply_gathers_arguments,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_header_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reply_errors, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
