/* A model file that includes a handler header and calls a handler. */
#include "handlers/handlers.h"
#include "model/inode.h"

void mmapfs_mapping_open(struct mmapfs_inode *in)
{
	in->map.open_count++;
	mmapfs_op_open(in);
}
