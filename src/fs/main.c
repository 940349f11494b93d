/*
 * main.c — (being written; owner: daemon helper)
 */
#include <stdio.h>

int main(void)
{
	fputs("mmapfs: not built yet\n", stderr);
	return 1;
}
