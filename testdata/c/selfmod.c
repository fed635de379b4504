/* selfmod changes its own code: it makes the page of a function writable, patches the
 * constant the function returns, makes it executable again and calls it, so a CPU that
 * kept code translated before the patch would return the old constant. Each run starts
 * from the file's code and must print the same lines. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

__attribute__((noinline)) static int answer(void)
{
	return 0x1234567;
}

int main(void)
{
	int (*volatile fn)(void) = answer;
	unsigned char *code = (unsigned char *)fn;
	printf("before: %#x\n", fn());
	if (code[0] != 0xb8) { /* mov eax, imm32 */
		printf("unexpected code %02x\n", code[0]);
		return 1;
	}
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *start = (unsigned char *)((uintptr_t)code & ~(uintptr_t)(page - 1));
	expect("writable", mprotect(start, 2 * page, PROT_READ | PROT_WRITE | PROT_EXEC) == 0);
	int32_t v = 0x7654321;
	memcpy(code + 1, &v, 4);
	expect("executable again", mprotect(start, 2 * page, PROT_READ | PROT_EXEC) == 0);
	printf("after: %#x\n", fn());
	return failures;
}
