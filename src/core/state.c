/*
 * state.c — (being written; owner: durability helper)
 */
#include "internal.h"
