/* caps checks capget(2), capset(2) and the capability prctls as Linux answers them for
 * the caller's credentials: version negotiation, the sets of another process, capset's
 * subset rules, PR_SET_KEEPCAPS, and what setuid, seteuid, setfsuid and execve do to the
 * sets. Run it as root: the children drop to uid 1000. */
#define _GNU_SOURCE
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

struct hdr {
	uint32_t version;
	int pid;
};
struct data {
	uint32_t eff, prm, inh;
};

#define V1 0x19980330
#define V2 0x20071026
#define V3 0x20080522

struct sets {
	uint64_t eff, prm, inh;
};

static int capget_(struct hdr *h, struct data *d) { return syscall(SYS_capget, h, d); }
static int capset_(struct hdr *h, struct data *d) { return syscall(SYS_capset, h, d); }

static struct sets get(int pid)
{
	struct hdr h = {V3, pid};
	struct data d[2] = {0};
	struct sets s = {0};
	if (capget_(&h, d) != 0) {
		printf("capget(%d): %s\n", pid, errname(errno));
		failures++;
		return s;
	}
	s.eff = d[0].eff | (uint64_t)d[1].eff << 32;
	s.prm = d[0].prm | (uint64_t)d[1].prm << 32;
	s.inh = d[0].inh | (uint64_t)d[1].inh << 32;
	return s;
}

static int set(struct sets s)
{
	struct hdr h = {V3, 0};
	struct data d[2] = {{(uint32_t)s.eff, (uint32_t)s.prm, (uint32_t)s.inh},
			    {(uint32_t)(s.eff >> 32), (uint32_t)(s.prm >> 32), (uint32_t)(s.inh >> 32)}};
	return capset_(&h, d);
}

static void show(const char *what, struct sets s)
{
	printf("%s: eff=%llx prm=%llx inh=%llx\n", what, (unsigned long long)s.eff,
	       (unsigned long long)s.prm, (unsigned long long)s.inh);
}

static int lastcap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int n = -1;
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* inchild runs f in a child and waits for it, adding its failures to ours. */
static void inchild(const char *name, void (*f)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		f();
		fflush(stdout);
		_exit(failures);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("%s: child failed (%#x)\n", name, st);
		failures++;
	}
}

static const char *self;

static void drop_all(void)
{
	expect("setuid(1000)", setuid(1000) == 0);
	struct sets s = get(0);
	expect("setuid: all sets empty", s.eff == 0 && s.prm == 0);
	struct sets up = {1 << 7, 1 << 7, 0};
	expect_err("capset raise after setuid", set(up), EPERM);
	expect_err("setuid(0) after setuid", setuid(0), EPERM);
	expect_err("setgroups after setuid", setgroups(0, NULL), EPERM);
	expect_err("PR_CAPBSET_DROP unprivileged", prctl(PR_CAPBSET_DROP, 10, 0, 0, 0), EPERM);
}

static void keep(void)
{
	struct sets before = get(0);
	expect("PR_SET_KEEPCAPS 1", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0);
	expect("PR_GET_KEEPCAPS is 1", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 1);
	expect("setresuid(1000...)", setresuid(1000, 1000, 1000) == 0);
	struct sets s = get(0);
	expect("keepcaps: permitted kept", s.prm == before.prm);
	expect("keepcaps: effective cleared", s.eff == 0);
	s.eff = s.prm;
	expect("capset effective from permitted", set(s) == 0);
	expect("setuid(0) with CAP_SETUID again", setuid(0) == 0);
	expect("uid 0 again", getuid() == 0 && geteuid() == 0);
	/* execve clears keepcaps; a non-root program keeps only its ambient set. */
	expect("setresuid(1000...) again", setresuid(1000, 1000, 1000) == 0);
	fflush(stdout);
	execl(self, self, "after-exec", (char *)NULL);
	printf("execl: %s\n", errname(errno));
	failures++;
}

static void effective(void)
{
	struct sets before = get(0);
	expect("seteuid(1000)", seteuid(1000) == 0);
	struct sets s = get(0);
	expect("seteuid: effective cleared, permitted kept", s.eff == 0 && s.prm == before.prm);
	expect("seteuid(0)", seteuid(0) == 0);
	s = get(0);
	expect("seteuid(0): effective from permitted", s.eff == before.prm);
	setfsuid(1000);
	s = get(0);
	show("after setfsuid(1000)", s);
	setfsuid(0);
	s = get(0);
	show("after setfsuid(0)", s);
}

static void ambient(void)
{
	struct sets s = get(0);
	expect_err("ambient raise without inheritable", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 10, 0, 0), EPERM);
	s.inh |= 1 << 10;
	expect("capset inheritable", set(s) == 0);
	expect("ambient raise", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 10, 0, 0) == 0);
	expect("ambient is set", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 10, 0, 0) == 1);
	expect_err("ambient bad args", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0), EINVAL);
	expect_err("ambient bad op", prctl(PR_CAP_AMBIENT, 9, 10, 0, 0), EINVAL);
	s.inh = 0;
	expect("capset drops inheritable", set(s) == 0);
	expect("ambient lowered with it", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 10, 0, 0) == 0);
}

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
		expect("after exec: keepcaps cleared", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 0);
		struct sets s = get(0);
		expect("after exec as uid 1000: no capabilities", s.eff == 0 && s.prm == 0);
		return failures;
	}
	if (getuid() != 0) {
		printf("not root: skipped\n");
		return 0;
	}
	int last = lastcap();
	uint64_t all = last >= 63 ? ~0ull : (1ull << (last + 1)) - 1;

	/* Version negotiation. */
	struct hdr h = {0, 0};
	expect("probe with NULL data", capget_(&h, NULL) == 0);
	expect("probe answers version 3", h.version == V3);
	struct data d[2];
	h.version = 0x12345678;
	expect_err("unknown version", capget_(&h, d), EINVAL);
	expect("unknown version answered with version 3", h.version == V3);
	h.version = 0x12345678;
	expect_err("capset unknown version", capset_(&h, d), EINVAL);
	expect("capset answers version 3", h.version == V3);
	expect_err("capget bad header", capget_((struct hdr *)8, d), EFAULT);
	h = (struct hdr){V3, 0};
	expect_err("capget bad data", capget_(&h, (struct data *)8), EFAULT);
	h = (struct hdr){V3, -1};
	expect_err("capget pid -1", capget_(&h, d), EINVAL);

	struct sets s = get(0);
	show("root", s);
	expect("root: effective == permitted", s.eff == s.prm);
	expect("root: permitted within cap_last_cap", (s.prm & ~all) == 0);
	memset(d, 0xff, sizeof d);
	h = (struct hdr){V1, 0};
	expect("capget v1", capget_(&h, d) == 0);
	expect("v1: one word, low half", d[0].eff == (uint32_t)s.eff && d[1].eff == 0xffffffff);
	h = (struct hdr){V2, 0};
	expect("capget v2", capget_(&h, d) == 0 && d[1].prm == (uint32_t)(s.prm >> 32));
	h = (struct hdr){V3, getpid()};
	expect("capget own pid", capget_(&h, d) == 0 && d[0].eff == (uint32_t)s.eff);

	/* Another process's sets, and a pid that is gone. */
	int pfd[2];
	if (pipe(pfd) != 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(pfd[1]);
		read(pfd[0], &c, 1);
		_exit(0);
	}
	close(pfd[0]);
	struct sets c = get(pid);
	expect("capget of a child", c.eff == s.eff && c.prm == s.prm);
	h = (struct hdr){V3, pid};
	expect_err("capset of another process", capset_(&h, d), EPERM);
	close(pfd[1]);
	waitpid(pid, NULL, 0);
	h = (struct hdr){V3, pid};
	expect_err("capget of a reaped child", capget_(&h, d), ESRCH);

	/* capset's rules. */
	struct sets t = s;
	t.eff &= ~(1ull << 21);
	expect("drop CAP_SYS_ADMIN from effective", set(t) == 0);
	expect("sets read back", get(0).eff == t.eff);
	expect("raise it again from permitted", set(s) == 0);
	t = s;
	t.eff |= ~t.prm & all;
	if (t.eff != s.eff)
		expect_err("effective beyond permitted", set(t), EPERM);
	t = s;
	t.prm &= ~(1ull << 12);
	t.eff &= ~(1ull << 12);
	expect("drop a permitted capability", set(t) == 0);
	expect_err("take it back", set(s), EPERM);

	/* prctl. */
	expect("PR_CAPBSET_READ 0", prctl(PR_CAPBSET_READ, 0, 0, 0, 0) == 1);
	expect("PR_CAPBSET_READ last", prctl(PR_CAPBSET_READ, last, 0, 0, 0) >= 0);
	expect_err("PR_CAPBSET_READ beyond last", prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0), EINVAL);
	expect("PR_GET_KEEPCAPS is 0", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 0);
	expect_err("PR_SET_KEEPCAPS 2", prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0), EINVAL);
	expect("PR_GET_SECUREBITS is 0", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) == 0);
	expect_err("PR_SET_SECUREBITS unknown bit", prctl(PR_SET_SECUREBITS, 1 << 20, 0, 0, 0), EPERM);

	inchild("drop", drop_all);
	inchild("keepcaps", keep);
	inchild("effective", effective);
	inchild("ambient", ambient);
	return failures;
}
