/* gdbwatch is a debugger's target for hardware breakpoints and watchpoints: a function
 * called three times, and a counter it changes. */
#include <stdio.h>

volatile long counter;

__attribute__((noinline)) void bump(int i)
{
	counter += i;
}

int main(void)
{
	for (int i = 1; i <= 3; i++)
		bump(i);
	printf("counter %ld\n", counter);
	return 0;
}
