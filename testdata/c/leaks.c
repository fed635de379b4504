/* leaks loses three blocks and keeps one: built with LeakSanitizer and AddressSanitizer
 * too, whose leak check at exit runs in a CLONE_VM child that leaves its report in
 * memory it maps itself, for the parent to print. */
#include <stdio.h>
#include <stdlib.h>

void *kept;

static __attribute__((noinline)) void lose(int i)
{
	char *p = malloc(100 + i);
	if (p)
		p[0] = 1;
}

int main(void)
{
	for (int i = 0; i < 3; i++)
		lose(i);
	kept = malloc(7);
	puts("done");
	return 0;
}
