/* exitcode exits with the status given as its first argument. */
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	exit(atoi(argv[1]));
}
