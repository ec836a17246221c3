// SPDX-License-Identifier: GPL-2.0
/*
 * paging-levels: print how many paging levels the running kernel uses.
 *
 * A 5-level (LA57) kernel maps a user address above 2^47 when the mmap hint
 * asks for one; a 4-level kernel cannot.  The sandbox suite uses this to
 * prove that each CPU profile really runs the paging depth it claims.
 */
#include <stdio.h>
#include <sys/mman.h>

int main(void)
{
	void *want = (void *)(1UL << 50);
	void *p =
		mmap(want, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	printf("%d\n", p == want ? 5 : 4);
	return 0;
}
