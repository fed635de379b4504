/* setuidexec: what execve does with a program's set-user-id and set-group-id bits, as
 * Linux's bprm_fill_uid() and cap_bprm_creds_from_file(): the owner becomes the
 * effective (and saved, and filesystem) uid, the group the effective gid when the group
 * execute bit is set too, no_new_privs keeps the ids, a change of ids sets AT_SECURE,
 * drops the parent-death signal and dumpability, and the capability sets follow the new
 * effective uid. The program copies itself into the directory it is given and runs the
 * copy with each mode and owner; each child prints its ids, AT_SECURE, capabilities,
 * PR_GET_PDEATHSIG and PR_GET_DUMPABLE. Needs root (else "skipped"). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* must stops the program when a step of the setup fails. */
static void must(int ok, const char *what)
{
	if (!ok) {
		perror(what);
		exit(1);
	}
}

struct capdata {
	unsigned eff, prm, inh;
};

static int child(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	struct {
		unsigned version;
		int pid;
	} hdr = {0x20080522, 0};
	struct capdata d[2] = {{0}};
	syscall(SYS_capget, &hdr, d);
	int pds = -1;
	prctl(PR_GET_PDEATHSIG, &pds);
	printf("  uids %u %u %u (fs %d), gids %u %u %u (fs %d), AT_SECURE %lu\n", r, e, s,
	       (int)syscall(SYS_setfsuid, -1), rg, eg, sg, (int)syscall(SYS_setfsgid, -1),
	       getauxval(AT_SECURE));
	printf("  caps eff %s, prm %s, pdeathsig %d, dumpable %d\n",
	       d[0].eff ? (d[0].eff == d[0].prm ? "=prm" : "some") : "none",
	       d[0].prm ? "some" : "none", pds, prctl(PR_GET_DUMPABLE));
	return 0;
}

/* run forks a child that prepares itself with how and execs prog, through a descriptor
 * opened before, so that a child with other ids needs no access to the directories. */
static void run(const char *what, const char *prog, void (*how)(void))
{
	printf("%s:\n", what);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(prog, O_RDONLY | O_CLOEXEC);
		prctl(PR_SET_PDEATHSIG, SIGUSR1);
		if (how)
			how();
		char *args[] = {"prog", "child", NULL};
		syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
		_exit(111);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("  status %#x\n", st);
}

static void nnp(void) { prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
static void euid1000(void) { setresuid(0, 1000, 0); }
static void all1000(void)
{
	setresgid(1000, 1000, 1000);
	setresuid(1000, 1000, 1000);
}
static void all1000nnp(void)
{
	all1000();
	nnp();
}
static void keep1000(void)
{
	prctl(PR_SET_KEEPCAPS, 1);
	setresuid(1000, 1000, 1000);
}

static void copy(const char *to)
{
	int in = open("/proc/self/exe", O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	must(in >= 0 && out >= 0, "open");
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		must(write(out, buf, n) == n, "write");
	close(in);
	close(out);
}

static void setmode(const char *p, uid_t u, gid_t g, mode_t m)
{
	must(chown(p, u, g) == 0, "chown");
	must(chmod(p, m) == 0, "chmod"); /* after chown, which clears the bits */
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();
	if (argc < 2 || geteuid() != 0) {
		printf("skipped\n");
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	char prog[4096], rootprog[4096];
	snprintf(prog, sizeof prog, "%s/prog", argv[1]);
	snprintf(rootprog, sizeof rootprog, "%s/rootprog", argv[1]);
	copy(prog);
	copy(rootprog);

	run("plain", prog, NULL);
	setmode(prog, 65534, 65534, 04755);
	run("set-user-id nobody", prog, NULL);
	run("set-user-id nobody, no_new_privs", prog, nnp);
	setmode(prog, 65534, 65534, 02755);
	run("set-group-id nogroup", prog, NULL);
	setmode(prog, 65534, 65534, 02745);
	run("set-group-id without group execute", prog, NULL);
	setmode(prog, 65534, 65534, 06755);
	run("both", prog, NULL);
	run("both, from euid 1000", prog, euid1000);
	setmode(prog, 0, 0, 0755);
	run("plain, from euid 1000", prog, euid1000);
	run("plain, from uid 1000", prog, all1000);
	run("plain, from uid 1000 with keepcaps", prog, keep1000);
	setmode(rootprog, 0, 0, 04755);
	run("set-user-id root, from uid 1000", rootprog, all1000);
	run("set-user-id root, from uid 1000, no_new_privs", rootprog, all1000nnp);
	return 0;
}
