/* vdso finds the vDSO through AT_SYSINFO_EHDR, checks its ELF structure and symbol versions by
 * hand (no libc help), calls each function and compares it with the system call. */
#define _GNU_SOURCE
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void expect(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		failures++;
}

static uintptr_t bias; /* load address minus link address */
static const Elf64_Sym *symtab;
static const char *strtab;
static const uint32_t *sysv_hash;
static const uint32_t *gnu_hash;
static const Elf64_Versym *versym;
static const Elf64_Verdef *verdef;
static const char *soname;

static uint32_t sysv_hash_of(const char *s)
{
	uint32_t h = 0, g;
	for (; *s; s++) {
		h = (h << 4) + (unsigned char)*s;
		g = h & 0xf0000000;
		if (g)
			h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

static uint32_t gnu_hash_of(const char *s)
{
	uint32_t h = 5381;
	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

/* version_name returns the name of the version definition with index ndx. */
static const char *version_name(unsigned ndx)
{
	const Elf64_Verdef *d = verdef;
	while (d) {
		if (!(d->vd_flags & VER_FLG_BASE) && (d->vd_ndx & 0x7fff) == ndx) {
			const Elf64_Verdaux *a = (const void *)((const char *)d + d->vd_aux);
			return strtab + a->vda_name;
		}
		if (!d->vd_next)
			break;
		d = (const void *)((const char *)d + d->vd_next);
	}
	return NULL;
}

static int good_symbol(uint32_t i, const char *name, const char *version)
{
	const Elf64_Sym *s = &symtab[i];
	if (strcmp(strtab + s->st_name, name) != 0)
		return 0;
	if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF)
		return 0;
	int bind = ELF64_ST_BIND(s->st_info);
	if (bind != STB_GLOBAL && bind != STB_WEAK)
		return 0;
	if (versym && version) {
		const char *v = version_name(versym[i] & 0x7fff);
		if (!v || strcmp(v, version) != 0)
			return 0;
	}
	return 1;
}

static void *lookup_sysv(const char *name, const char *version)
{
	if (!sysv_hash)
		return NULL;
	uint32_t nbucket = sysv_hash[0];
	const uint32_t *bucket = sysv_hash + 2, *chain = bucket + nbucket;
	for (uint32_t i = bucket[sysv_hash_of(name) % nbucket]; i != STN_UNDEF; i = chain[i])
		if (good_symbol(i, name, version))
			return (void *)(symtab[i].st_value + bias);
	return NULL;
}

static void *lookup_gnu(const char *name, const char *version)
{
	if (!gnu_hash)
		return NULL;
	uint32_t nbuckets = gnu_hash[0], symoffset = gnu_hash[1];
	uint32_t bloom_size = gnu_hash[2], bloom_shift = gnu_hash[3];
	const uint64_t *bloom = (const uint64_t *)(gnu_hash + 4);
	const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
	const uint32_t *chain = buckets + nbuckets;
	uint32_t h = gnu_hash_of(name);
	uint64_t word = bloom[(h / 64) % bloom_size];
	uint64_t mask = (1ull << (h % 64)) | (1ull << ((h >> bloom_shift) % 64));
	if ((word & mask) != mask)
		return NULL;
	uint32_t i = buckets[h % nbuckets];
	if (i < symoffset)
		return NULL;
	for (;; i++) {
		uint32_t h2 = chain[i - symoffset];
		if ((h | 1) == (h2 | 1) && good_symbol(i, name, version))
			return (void *)(symtab[i].st_value + bias);
		if (h2 & 1)
			break;
	}
	return NULL;
}

static long long ns(struct timespec t)
{
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
	const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	expect("AT_SYSINFO_EHDR present", base != NULL);
	if (!base)
		return 1;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	expect("ELF magic", memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0);
	expect("ELFCLASS64", eh->e_ident[EI_CLASS] == ELFCLASS64);
	expect("little endian", eh->e_ident[EI_DATA] == ELFDATA2LSB);
	expect("ET_DYN", eh->e_type == ET_DYN);
	expect("EM_X86_64", eh->e_machine == EM_X86_64);
	expect("page aligned", ((uintptr_t)base & 4095) == 0);

	const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	const Elf64_Dyn *dyn = NULL;
	int loads = 0, found_load = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			loads++;
			if (!found_load) {
				bias = (uintptr_t)base + ph[i].p_offset - ph[i].p_vaddr;
				found_load = 1;
			}
		}
	}
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const Elf64_Dyn *)(ph[i].p_vaddr + bias);
	expect("has PT_LOAD", loads >= 1);
	expect("has PT_DYNAMIC", dyn != NULL);
	if (!dyn)
		return 1;

	uintptr_t soname_off = 0;
	int has_soname = 0;
	for (const Elf64_Dyn *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: symtab = (const void *)(d->d_un.d_ptr + bias); break;
		case DT_STRTAB: strtab = (const void *)(d->d_un.d_ptr + bias); break;
		case DT_HASH: sysv_hash = (const void *)(d->d_un.d_ptr + bias); break;
		case DT_GNU_HASH: gnu_hash = (const void *)(d->d_un.d_ptr + bias); break;
		case DT_VERSYM: versym = (const void *)(d->d_un.d_ptr + bias); break;
		case DT_VERDEF: verdef = (const void *)(d->d_un.d_ptr + bias); break;
		case DT_SONAME: soname_off = d->d_un.d_val; has_soname = 1; break;
		}
	}
	expect("has DT_SYMTAB", symtab != NULL);
	expect("has DT_STRTAB", strtab != NULL);
	expect("has DT_HASH", sysv_hash != NULL);
	expect("has DT_GNU_HASH", gnu_hash != NULL);
	expect("has DT_VERSYM", versym != NULL);
	expect("has DT_VERDEF", verdef != NULL);
	if (!symtab || !strtab)
		return 1;
	if (has_soname)
		soname = strtab + soname_off;
	printf("soname: %s\n", soname ? soname : "(none)");

	static const char *names[] = {
		"__vdso_clock_gettime", "clock_gettime",
		"__vdso_gettimeofday", "gettimeofday",
		"__vdso_time", "time",
		"__vdso_getcpu", "getcpu",
		"__vdso_clock_getres", "clock_getres",
	};
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
		char what[128];
		void *a = lookup_sysv(names[i], "LINUX_2.6");
		void *b = lookup_gnu(names[i], "LINUX_2.6");
		snprintf(what, sizeof what, "%s@LINUX_2.6 via DT_HASH", names[i]);
		expect(what, a != NULL);
		snprintf(what, sizeof what, "%s@LINUX_2.6 via DT_GNU_HASH", names[i]);
		expect(what, b != NULL);
		snprintf(what, sizeof what, "%s hash tables agree", names[i]);
		expect(what, a == b);
		if (i % 2 == 1) {
			snprintf(what, sizeof what, "%s is an alias of %s", names[i], names[i - 1]);
			expect(what, a == lookup_sysv(names[i - 1], "LINUX_2.6"));
		}
	}
	expect("missing symbol not found", lookup_sysv("__vdso_nothing", NULL) == NULL &&
					       lookup_gnu("__vdso_nothing", NULL) == NULL);

	int (*vgettime)(clockid_t, struct timespec *) = lookup_gnu("__vdso_clock_gettime", "LINUX_2.6");
	int (*vgetres)(clockid_t, struct timespec *) = lookup_gnu("__vdso_clock_getres", "LINUX_2.6");
	int (*vgtod)(struct timeval *, struct timezone *) = lookup_gnu("__vdso_gettimeofday", "LINUX_2.6");
	time_t (*vtime)(time_t *) = lookup_gnu("__vdso_time", "LINUX_2.6");
	long (*vgetcpu)(unsigned *, unsigned *, void *) = lookup_gnu("__vdso_getcpu", "LINUX_2.6");

	static const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW,
					   CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME};
	static const char *clock_names[] = {"REALTIME", "MONOTONIC", "MONOTONIC_RAW",
					    "REALTIME_COARSE", "MONOTONIC_COARSE", "BOOTTIME"};
	if (vgettime) {
		for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
			struct timespec v1, s, v2;
			int r1 = vgettime(clocks[i], &v1);
			syscall(SYS_clock_gettime, clocks[i], &s);
			int r2 = vgettime(clocks[i], &v2);
			char what[128];
			snprintf(what, sizeof what, "vdso clock_gettime %s ok", clock_names[i]);
			expect(what, r1 == 0 && r2 == 0);
			snprintf(what, sizeof what, "vdso clock_gettime %s brackets the syscall", clock_names[i]);
			/* coarse clocks may lag the syscall by a tick */
			long long slack = i == 3 || i == 4 ? 20000000LL : 0;
			expect(what, ns(v1) <= ns(s) + slack && ns(s) <= ns(v2) + slack);
		}
		struct timespec t;
		expect("vdso clock_gettime bad clock is -EINVAL", vgettime(42, &t) == -22);
		int mono = 1;
		struct timespec prev, cur;
		vgettime(CLOCK_MONOTONIC, &prev);
		for (int i = 0; i < 10000; i++) {
			vgettime(CLOCK_MONOTONIC, &cur);
			if (ns(cur) < ns(prev))
				mono = 0;
			prev = cur;
		}
		expect("vdso monotonic over 10000 reads", mono);
	}
	if (vgetres) {
		struct timespec v = {-1, -1}, s = {-2, -2};
		expect("vdso clock_getres ok", vgetres(CLOCK_MONOTONIC, &v) == 0);
		syscall(SYS_clock_getres, CLOCK_MONOTONIC, &s);
		expect("vdso clock_getres matches syscall", v.tv_sec == s.tv_sec && v.tv_nsec == s.tv_nsec);
	}
	if (vgtod) {
		struct timeval tv, stv;
		expect("vdso gettimeofday ok", vgtod(&tv, NULL) == 0);
		syscall(SYS_gettimeofday, &stv, NULL);
		expect("vdso gettimeofday within 1s of syscall", stv.tv_sec - tv.tv_sec <= 1 && tv.tv_sec <= stv.tv_sec);
		expect("vdso gettimeofday NULL ok", vgtod(NULL, NULL) == 0);
	}
	if (vtime) {
		time_t t2 = -1;
		time_t t1 = vtime(&t2);
		time_t s = syscall(SYS_time, NULL);
		expect("vdso time stores its result", t1 == t2);
		expect("vdso time within 1s of syscall", s - t1 >= 0 && s - t1 <= 1);
	}
	if (vgetcpu) {
		unsigned cpu = ~0u, node = ~0u;
		expect("vdso getcpu ok", vgetcpu(&cpu, &node, NULL) == 0);
		expect("vdso getcpu cpu plausible", cpu < 4096 && node < 1024);
	}
	printf("failures: %d\n", failures);
	return failures ? 1 : 0;
}
