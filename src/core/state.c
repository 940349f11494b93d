/*
 * state.c — PLACEHOLDER (owner: durability helper): minimal hooks so the
 * rest of the core links while the durability engine is being written.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

struct mmapio_fstate {
	int unused;
};

int mmapio_state_attach(struct mmapio_file *f, const struct mmapio_policy *p)
{
	(void)p;
	f->state = calloc(1, sizeof(*f->state));
	return f->state ? 0 : -ENOMEM;
}

int mmapio_state_detach(struct mmapio_file *f)
{
	free(f->state);
	f->state = NULL;
	return 0;
}

int mmapio_state_account(struct mmapio_file *f, uint64_t off, uint64_t len)
{
	(void)f;
	(void)off;
	(void)len;
	return 0;
}

void mmapio_state_truncated(struct mmapio_file *f, uint64_t new_len)
{
	(void)f;
	(void)new_len;
}
