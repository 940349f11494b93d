/*
 * access.c — (being written; owner: libmmapio access helper)
 */
#include "internal.h"
