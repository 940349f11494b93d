/*
 * config.c — (being written; owner: configuration helper)
 */
#include "config.h"
