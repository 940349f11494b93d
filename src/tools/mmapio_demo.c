/*
 * mmapio_demo.c — (being written; owner: libmmapio access helper)
 */
int main(void)
{
	return 0;
}
