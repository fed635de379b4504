/* env prints its arguments, sorted environment, auxiliary vector facts and identity checks. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char **environ;

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *yesno(int b)
{
	return b ? "yes" : "no";
}

int main(int argc, char **argv)
{
	printf("argc=%d\n", argc);
	for (int i = 1; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	printf("argv[argc] is NULL: %s\n", yesno(argv[argc] == NULL));

	int n = 0;
	while (environ[n])
		n++;
	char **env = malloc((n + 1) * sizeof *env);
	memcpy(env, environ, n * sizeof *env);
	qsort(env, n, sizeof *env, cmpstr);
	printf("environ (%d):\n", n);
	for (int i = 0; i < n; i++)
		printf("  %s\n", env[i]);
	printf("getenv FOO=%s\n", getenv("FOO") ? getenv("FOO") : "(unset)");
	printf("getenv MISSING=%s\n", getenv("MISSING") ? getenv("MISSING") : "(unset)");

	printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
	printf("AT_CLKTCK=%lu\n", getauxval(AT_CLKTCK));
	printf("AT_HWCAP non-zero: %s\n", yesno(getauxval(AT_HWCAP) != 0));
	printf("AT_RANDOM non-null: %s\n", yesno(getauxval(AT_RANDOM) != 0));
	printf("AT_PHDR non-null: %s\n", yesno(getauxval(AT_PHDR) != 0));
	printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));
	printf("AT_ENTRY non-null: %s\n", yesno(getauxval(AT_ENTRY) != 0));
	printf("AT_SYSINFO_EHDR non-null: %s\n", yesno(getauxval(AT_SYSINFO_EHDR) != 0));
	printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
	printf("AT_UID==getuid: %s\n", yesno(getauxval(AT_UID) == getuid()));
	printf("AT_EUID==geteuid: %s\n", yesno(getauxval(AT_EUID) == geteuid()));
	printf("AT_GID==getgid: %s\n", yesno(getauxval(AT_GID) == getgid()));
	printf("AT_EGID==getegid: %s\n", yesno(getauxval(AT_EGID) == getegid()));
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	printf("AT_EXECFN==argv[0]: %s\n", yesno(execfn && strcmp(execfn, argv[0]) == 0));
	const char *platform = (const char *)getauxval(AT_PLATFORM);
	printf("AT_PLATFORM=%s\n", platform ? platform : "(null)");

	struct utsname u;
	if (uname(&u) == 0) {
		printf("uname sysname=%s\n", u.sysname);
		printf("uname machine=%s\n", u.machine);
		printf("uname release non-empty: %s\n", yesno(u.release[0] != 0));
	} else {
		printf("uname failed\n");
	}

	printf("getpid>0: %s\n", yesno(getpid() > 0));
	printf("getppid>0: %s\n", yesno(getppid() > 0));
	printf("getpid!=getppid: %s\n", yesno(getpid() != getppid()));
	printf("getuid==geteuid: %s\n", yesno(getuid() == geteuid()));
	printf("getgid==getegid: %s\n", yesno(getgid() == getegid()));
	printf("getpgrp>0: %s\n", yesno(getpgrp() > 0));
	printf("getsid>0: %s\n", yesno(getsid(0) > 0));
	printf("gettid==getpid: %s\n", yesno(syscall(186) == getpid()));
	printf("sysconf pagesize=%ld\n", sysconf(_SC_PAGESIZE));
	char host[256];
	printf("gethostname ok: %s\n", yesno(gethostname(host, sizeof host) == 0));
	return 0;
}
