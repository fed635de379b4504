/* hello: prints "hello" and exits. */
#include <stdio.h>

int main(void)
{
	puts("hello");
	return 0;
}
