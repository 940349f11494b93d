/* A handler that writes a field group it does not own, and calls back. */
#include "model/inode.h"

void mmapfs_op_open(struct mmapfs_inode *in)
{
	in->map.open_count = 0;
	mmapfs_mapping_open(in);
}
