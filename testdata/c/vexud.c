/* vexud: VEX-encoded instructions do what CPUID says. Each runs where CPUID (and XCR0,
 * for AVX) says the feature is there and must give the right result; elsewhere it must
 * raise SIGILL, as a CPU without the feature does, and never run with another meaning.
 * The output is the same on a CPU with the features and on one without. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static sigjmp_buf env;

static void on_ill(int sig)
{
	(void)sig;
	siglongjmp(env, 1);
}

static int avx_usable(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 28)) || !(c & (1u << 27)))
		return 0;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

static int leaf7_ebx(int bit)
{
	unsigned a, b, c, d;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b >> bit) & 1;
}

/* check runs f: "ok" when it ran and gave the right answer where the feature is there,
 * or raised SIGILL where it is not. */
static void check(const char *name, int have, int (*f)(void))
{
	volatile int ran = 0, right = 0;
	if (sigsetjmp(env, 1) == 0) {
		right = f();
		ran = 1;
	}
	if (have)
		printf("%s: %s\n", name, ran && right ? "ok" : ran ? "wrong result" : "SIGILL");
	else
		printf("%s: %s\n", name, ran ? "ran without the feature" : "ok");
}

static int vaddps(void)
{
	float a[4] = {1, 2, 3, 4}, b[4] = {10, 20, 30, 40}, r[4];
	__asm__ volatile("vmovups %1, %%xmm1\n vmovups %2, %%xmm2\n vxorps %%xmm0, %%xmm0, %%xmm0\n"
			 " vaddps %%xmm2, %%xmm1, %%xmm0\n vmovups %%xmm0, %0"
			 : "=m"(r) : "m"(a), "m"(b) : "xmm0", "xmm1", "xmm2");
	return r[0] == 11 && r[1] == 22 && r[2] == 33 && r[3] == 44;
}

static int vmulsd(void)
{
	double a = 3, b = 7, r;
	__asm__ volatile("vmovsd %1, %%xmm1\n vmovsd %2, %%xmm2\n vmulsd %%xmm2, %%xmm1, %%xmm3\n"
			 " vmovsd %%xmm3, %0"
			 : "=m"(r) : "m"(a), "m"(b) : "xmm1", "xmm2", "xmm3");
	return r == 21;
}

static int andn(void)
{
	uint64_t r, x = 0xf0f0, y = 0xffff;
	__asm__ volatile("andn %2, %1, %0" : "=r"(r) : "r"(x), "r"(y));
	return r == 0x0f0f;
}

static int blsr(void)
{
	uint64_t r, x = 0x1010;
	__asm__ volatile("blsr %1, %0" : "=r"(r) : "r"(x));
	return r == 0x1000;
}

static int bzhi(void)
{
	uint64_t r, x = 0xffff, n = 4;
	__asm__ volatile("bzhi %2, %1, %0" : "=r"(r) : "r"(x), "r"(n));
	return r == 0xf;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_ill;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGILL, &sa, NULL);
	check("vaddps", avx_usable(), vaddps);
	check("vmulsd", avx_usable(), vmulsd);
	check("andn", leaf7_ebx(3), andn);
	check("blsr", leaf7_ebx(3), blsr);
	check("bzhi", leaf7_ebx(8), bzhi);
	return 0;
}
