/* model/inode.h of the fixture: one owned group. */
struct mmapfs_inode_mapping {
	int open_count;
};
struct mmapfs_inode {
	struct mmapfs_inode_mapping map;     /* owner: model/mapping.c */
};
