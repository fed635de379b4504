/* getcpu checks that a thread pinned with sched_setaffinity runs, as getcpu tells it, on
 * the CPU it chose: through the system call, the vDSO's __vdso_getcpu and the vsyscall
 * page's entry; sched_getaffinity, /proc/self/stat's processor and /proc/self/status's
 * Cpus_allowed_list say the same, and two threads pinned apart each see their own. */
#define _GNU_SOURCE
#include <elf.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);
static getcpu_fn vdso_getcpu;

/* vdso_sym finds a symbol in the vDSO's dynamic symbol table. */
static void *vdso_sym(const char *want)
{
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return NULL;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)base;
	Elf64_Phdr *ph = (Elf64_Phdr *)(base + eh->e_phoff);
	long load = -1;
	Elf64_Dyn *dyn = NULL;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && load < 0)
			load = base + ph[i].p_offset - ph[i].p_vaddr;
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (Elf64_Dyn *)(base + ph[i].p_offset);
	}
	if (!dyn || load < 0)
		return NULL;
	Elf64_Sym *sym = NULL;
	const char *str = NULL;
	unsigned *hash = NULL;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_SYMTAB)
			sym = (Elf64_Sym *)(load + dyn->d_un.d_ptr);
		if (dyn->d_tag == DT_STRTAB)
			str = (const char *)(load + dyn->d_un.d_ptr);
		if (dyn->d_tag == DT_HASH)
			hash = (unsigned *)(load + dyn->d_un.d_ptr);
	}
	if (!sym || !str || !hash)
		return NULL;
	for (unsigned i = 0; i < hash[1]; i++)
		if (sym[i].st_shndx != SHN_UNDEF && strcmp(str + sym[i].st_name, want) == 0)
			return (void *)(load + sym[i].st_value);
	return NULL;
}

static int via_syscall(void)
{
	unsigned cpu = 99, node = 99;
	return syscall(SYS_getcpu, &cpu, &node, NULL) == 0 && node == 0 ? (int)cpu : -1;
}

static int via_vdso(void)
{
	unsigned cpu = 99, node = 99;
	return vdso_getcpu(&cpu, &node, NULL) == 0 && node == 0 ? (int)cpu : -1;
}

static int via_vsyscall(void)
{
	unsigned cpu = 99, node = 99;
	getcpu_fn f = (getcpu_fn)0xffffffffff600800UL;
	return f(&cpu, &node, NULL) == 0 ? (int)cpu : -1;
}

/* stat_cpu reads field 39, processor, of /proc/thread-self/stat. */
static int stat_cpu(void)
{
	char b[1024];
	FILE *f = fopen("/proc/thread-self/stat", "r");
	if (!f || !fgets(b, sizeof b, f))
		return -1;
	fclose(f);
	char *p = strrchr(b, ')');
	int field = 2;
	for (; p && *p; p++)
		if (*p == ' ' && ++field == 39)
			return atoi(p + 1);
	return -1;
}

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof set, &set);
}

static volatile int stop;
static int wrong[2];

static void *spin(void *arg)
{
	int cpu = (int)(long)arg;
	if (pin(cpu))
		return NULL;
	for (int i = 0; i < 20000 && !stop; i++) {
		if (via_vdso() != cpu || (i % 1000 == 0 && via_syscall() != cpu))
			wrong[cpu]++;
		if (i % 100 == 0)
			sched_yield();
	}
	return NULL;
}

int main(void)
{
	cpu_set_t all;
	if (sched_getaffinity(0, sizeof all, &all) || !CPU_ISSET(0, &all) || !CPU_ISSET(1, &all)) {
		printf("needs CPUs 0 and 1: skipped\n");
		return 0;
	}
	vdso_getcpu = (getcpu_fn)vdso_sym("__vdso_getcpu");
	expect("the vDSO has __vdso_getcpu", vdso_getcpu != NULL);
	if (!vdso_getcpu)
		return 1;
	cpu_set_t bad;
	CPU_ZERO(&bad);
	CPU_SET(CPU_SETSIZE - 1, &bad);
	expect_err("a mask of no usable CPU", sched_setaffinity(0, sizeof bad, &bad), EINVAL);
	for (int cpu = 1; cpu >= 0; cpu--) {
		char what[64];
		snprintf(what, sizeof what, "pinned to %d", cpu);
		expect(what, pin(cpu) == 0);
		printf("syscall %d, vDSO %d, vsyscall %d, stat %d\n", via_syscall(), via_vdso(), via_vsyscall(), stat_cpu());
		cpu_set_t got;
		expect("sched_getaffinity gives the one CPU",
		       sched_getaffinity(0, sizeof got, &got) == 0 && CPU_COUNT(&got) == 1 && CPU_ISSET(cpu, &got));
		char line[256], want[64];
		int found = 0;
		snprintf(want, sizeof want, "Cpus_allowed_list:\t%d\n", cpu);
		FILE *f = fopen("/proc/thread-self/status", "r");
		while (f && fgets(line, sizeof line, f))
			found |= strcmp(line, want) == 0;
		if (f)
			fclose(f);
		expect("Cpus_allowed_list shows it", found);
	}
	pthread_t th[2];
	for (long i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, spin, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	expect("two threads pinned apart each see their own CPU", wrong[0] == 0 && wrong[1] == 0);
	return failures;
}
