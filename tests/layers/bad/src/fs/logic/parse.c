/* Logic that includes FUSE. */
#include <fuse_lowlevel.h>
