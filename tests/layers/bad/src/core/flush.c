/* The library including the daemon. */
#include "model/inode.h"
