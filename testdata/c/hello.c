/* hello prints a greeting and its arguments. */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("hello, world\n");
	printf("argc=%d\n", argc);
	for (int i = 1; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	return 0;
}
