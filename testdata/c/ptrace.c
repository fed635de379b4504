/* ptrace is a small strace and debugger: a child that asks to be traced, stops, and runs
 * a known sequence of system calls; the parent counts its system call stops, reads and
 * writes its memory, registers and code, changes and skips its calls, decides its
 * signals, attaches to a running child, and checks the errors Linux gives. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pt.h"

#ifndef PTRACE_GET_SYSCALL_INFO
#define PTRACE_GET_SYSCALL_INFO 0x420e
#endif
#ifndef NT_PRSTATUS
#define NT_PRSTATUS 1
#endif

/* The raw call: the same in both libcs (their PEEK wrappers differ in errno handling). */

static long target = 42;
static volatile int got_usr2;

static void on_usr2(int sig)
{
	(void)sig;
	got_usr2 = 1;
}

__attribute__((noinline)) static int answer(void)
{
	__asm__ volatile("");
	return 1;
}

static int (*volatile answer_fn)(void) = answer;

static void say(const char *s)
{
	write(1, s, strlen(s));
}

/* wait_stop waits for pid and returns its status. */
static int wait_for(pid_t pid)
{
	int st = 0;
	if (waitpid(pid, &st, __WALL) != pid)
		return -1;
	return st;
}

/* The traced child of the main test: the calls after its stop are what the parent sees. */
static void traced_child(void)
{
	if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0)
		_exit(100);
	errno = 0;
	long again = ptrace(PTRACE_TRACEME, 0, 0, 0);
	if (again != -1 || errno != EPERM)
		_exit(101);
	signal(SIGUSR2, on_usr2);
	answer_fn();
	raise(SIGSTOP);
	/* Stopped here; the parent follows with PTRACE_SYSCALL. */
	syscall(SYS_getuid);                           /* result changed to 4242 at exit */
	long pp = syscall(SYS_getppid);                /* changed into getpid at entry */
	long ex = syscall(SYS_exit, 77);               /* skipped at entry */
	int exerr = errno;
	syscall(SYS_getgid);
	raise(SIGUSR1);                                /* suppressed by the tracer */
	raise(SIGTERM);                                /* changed to SIGUSR2 */
	int a = answer_fn();                           /* its code was rewritten */
	char line[160];
	snprintf(line, sizeof line, "child: getppid became getpid: %s; exit skipped: %ld %s; handler ran: %s; target: %ld; answer: %d\n",
		 pp == getpid() ? "yes" : "no", ex, errname(exerr), got_usr2 ? "yes" : "no", target, a);
	say(line);
	_exit(3);
}

static void main_trace(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		traced_child();
	int st = wait_for(pid);
	expect("stopped by SIGSTOP", WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);

	/* Memory. */
	errno = 0;
	long v = ptrace(PTRACE_PEEKDATA, pid, &target, 0);
	expect("peekdata reads the child's variable", v == 42 && errno == 0);
	long word = 0;
	expect("raw peekdata stores the word", pt(PTRACE_PEEKDATA, pid, (unsigned long)&target, (unsigned long)&word) == 0 && word == 42);
	/* A debugger's other way in: /proc/PID/mem (and a thread's), positioned by address. */
	char mempath[64];
	snprintf(mempath, sizeof mempath, "/proc/%d/task/%d/mem", pid, pid);
	int mfd = open(mempath, O_RDWR);
	long mv = 0;
	expect("/proc/PID/task/TID/mem reads the child's variable", mfd >= 0 && pread(mfd, &mv, 8, (off_t)&target) == 8 && mv == 42);
	mv = 1000;
	expect("and writes it", pwrite(mfd, &mv, 8, (off_t)&target) == 8);
	expect_err("an unmapped address", pread(mfd, &mv, 8, 0), EIO);
	close(mfd);
	expect("pokedata", pt(PTRACE_POKEDATA, pid, (unsigned long)&target, pt(PTRACE_PEEKDATA, pid, (unsigned long)&target, (unsigned long)&mv) == 0 ? mv + 234 : 0) == 0);
	expect_err("peekdata at 0", pt(PTRACE_PEEKDATA, pid, 0, (unsigned long)&word), EIO);
	expect_err("pokedata at 0", pt(PTRACE_POKEDATA, pid, 0, 0), EIO);
	expect_err("peekdata into a bad buffer", pt(PTRACE_PEEKDATA, pid, (unsigned long)&target, 8), EFAULT);
	expect_err("peekuser misaligned", pt(PTRACE_PEEKUSER, pid, 3, (unsigned long)&word), EIO);
	/* The kernel's struct user ends with error_code and fault_address after the debug
	 * registers: 928 bytes, more than the C library's. */
	expect("peekuser at the end of the kernel's struct user", pt(PTRACE_PEEKUSER, pid, 920, (unsigned long)&word) == 0);
	expect_err("peekuser past struct user", pt(PTRACE_PEEKUSER, pid, 928, (unsigned long)&word), EIO);
	expect("peekuser of a debug register", pt(PTRACE_PEEKUSER, pid, offsetof(struct user, u_debugreg[7]), (unsigned long)&word) == 0 && word == 0);

	/* Code: answer() becomes mov $2, %eax; ret, though it ran already. */
	unsigned char code[8];
	memcpy(code, (void *)answer, 8);
	memcpy(code, "\xb8\x02\x00\x00\x00\xc3", 6);
	long cw;
	memcpy(&cw, code, 8);
	expect("poketext into read-only code", pt(PTRACE_POKETEXT, pid, (unsigned long)answer, cw) == 0);

	struct user_regs_struct r;
	expect("getregs", ptrace(PTRACE_GETREGS, pid, 0, &r) == 0);
	word = 0;
	expect("peekuser of rip is getregs' rip", pt(PTRACE_PEEKUSER, pid, offsetof(struct user_regs_struct, rip), (unsigned long)&word) == 0 && word == (long)r.rip);
	expect("segment selectors", r.cs == 0x33 && r.ss == 0x2b);
	struct iovec iov = {&r, sizeof r};
	expect("getregset NT_PRSTATUS", ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov) == 0 && iov.iov_len == sizeof r);
	expect_err("getregset of an unknown note", ptrace(PTRACE_GETREGSET, pid, 0x999, &iov), EINVAL);
	struct user_fpregs_struct fp;
	expect("getfpregs", ptrace(PTRACE_GETFPREGS, pid, 0, &fp) == 0 && fp.cwd == 0x37f);
	expect_err("setoptions with an unknown bit", ptrace(PTRACE_SETOPTIONS, pid, 0, 0x80000000), EINVAL);
	expect("setoptions TRACESYSGOOD", ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD) == 0);

	/* System calls until the child exits. */
	int entry = 1, stops = 0, sigstops = 0;
	long nrs[256];
	int nnr = 0;
	long sig = 0;
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, pid, 0, sig) != 0) {
			printf("PTRACE_SYSCALL failed: %s\n", errname(errno));
			break;
		}
		sig = 0;
		st = wait_for(pid);
		if (!WIFSTOPPED(st))
			break;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80)) {
			siginfo_t si;
			ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
			sigstops++;
			printf("signal-delivery stop: %s, si_code %s\n", strsignal(WSTOPSIG(st)), si.si_code == SI_TKILL ? "SI_TKILL" : "other");
			if (WSTOPSIG(st) == SIGTERM)
				sig = SIGUSR2;
			continue;
		}
		stops++;
		ptrace(PTRACE_GETREGS, pid, 0, &r);
		struct {
			uint8_t op, pad[3];
			uint32_t arch;
			uint64_t ip, sp;
			union {
				struct {
					uint64_t nr, args[6];
				} entry;
				struct {
					int64_t rval;
					uint8_t is_error;
				} exit;
			};
		} info;
		long isz = pt(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, (unsigned long)&info);
		if (entry) {
			if (nnr < 256)
				nrs[nnr++] = r.orig_rax;
			if (r.rax != (unsigned long)-ENOSYS || info.op != 1 || info.entry.nr != r.orig_rax || info.arch != 0xc000003e ||
			    info.ip != r.rip || isz != 80)
				printf("entry %ld: rax %ld, info op %d size %ld\n", (long)r.orig_rax, (long)r.rax, info.op, isz);
			if (r.orig_rax == SYS_getppid) {
				r.orig_rax = SYS_getpid;
				ptrace(PTRACE_SETREGS, pid, 0, &r);
			} else if (r.orig_rax == SYS_exit && r.rdi == 77) {
				r.orig_rax = -1;
				ptrace(PTRACE_SETREGS, pid, 0, &r);
			}
		} else {
			if (info.op != 2 || info.exit.rval != (int64_t)r.rax || isz != 33)
				printf("exit %ld: info op %d size %ld\n", (long)r.orig_rax, info.op, isz);
			if (r.orig_rax == SYS_getuid) {
				r.rax = 4242;
				ptrace(PTRACE_SETREGS, pid, 0, &r);
			}
		}
		entry = !entry;
	}
	expect("exited 3", WIFEXITED(st) && WEXITSTATUS(st) == 3);
	printf("system call stops: %d, signal stops: %d\n", stops, sigstops);
	printf("calls:");
	for (int i = 0; i < nnr; i++)
		printf(" %ld", nrs[i]);
	printf("\n");
	expect_err("the tracee is gone", pt(PTRACE_CONT, pid, 0, 0), ESRCH);
}

/* exec_child is the program's second self: it says it ran, and exits. */
static int exec_child(void)
{
	say("exec'd child ran\n");
	return 5;
}

static void exec_stops(const char *self)
{
	for (int opt = 0; opt < 2; opt++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			ptrace(PTRACE_TRACEME, 0, 0, 0);
			raise(SIGSTOP);
			execl(self, self, "exec-child", (char *)0);
			_exit(99);
		}
		int st = wait_for(pid);
		if (opt)
			ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT);
		ptrace(PTRACE_CONT, pid, 0, 0);
		st = wait_for(pid);
		if (opt) {
			expect("PTRACE_EVENT_EXEC", WIFSTOPPED(st) && st >> 8 == (SIGTRAP | PTRACE_EVENT_EXEC << 8));
			unsigned long msg = 0;
			expect("event message: the thread id", ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg) == 0 && msg == (unsigned long)pid);
			ptrace(PTRACE_CONT, pid, 0, 0);
			st = wait_for(pid);
			expect("PTRACE_EVENT_EXIT", WIFSTOPPED(st) && st >> 8 == (SIGTRAP | PTRACE_EVENT_EXIT << 8));
			ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
			expect("event message: the exit status", WIFEXITED(msg) && WEXITSTATUS(msg) == 5);
		} else {
			expect("SIGTRAP after exec", WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP && st >> 16 == 0);
			siginfo_t si;
			ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
			expect("its si_code is SI_USER", si.si_code == SI_USER);
		}
		ptrace(PTRACE_CONT, pid, 0, 0);
		st = wait_for(pid);
		expect("the new program exited 5", WIFEXITED(st) && WEXITSTATUS(st) == 5);
	}
}

static void step(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		_exit(0);
	}
	wait_for(pid);
	struct user_regs_struct a, b;
	ptrace(PTRACE_GETREGS, pid, 0, &a);
	int steps = 0, st = 0;
	for (int i = 0; i < 5; i++) {
		ptrace(PTRACE_SINGLESTEP, pid, 0, 0);
		st = wait_for(pid);
		if (WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP)
			steps++;
	}
	ptrace(PTRACE_GETREGS, pid, 0, &b);
	expect("five steps, each a SIGTRAP stop", steps == 5);
	expect("the steps moved rip", a.rip != b.rip);
	siginfo_t si;
	ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
	expect("a step's si_code is TRAP_TRACE", si.si_signo == SIGTRAP && si.si_code == 2);
	expect("PTRACE_KILL", ptrace(PTRACE_KILL, pid, 0, 0) == 0);
	st = wait_for(pid);
	expect("killed by SIGKILL", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static int proc_field(pid_t pid, const char *name, char *out, size_t n)
{
	char path[64], buf[2048];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t len = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	char *p = strstr(buf, name);
	if (!p)
		return -1;
	p += strlen(name);
	while (*p == '\t' || *p == ' ')
		p++;
	size_t i = 0;
	while (p[i] && p[i] != '\n' && i + 1 < n) {
		out[i] = p[i];
		i++;
	}
	out[i] = 0;
	return 0;
}

static void attach(void)
{
	int ready[2];
	pipe(ready);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		write(ready[1], "r", 1);
		for (;;)
			pause();
	}
	close(ready[1]);
	char c;
	read(ready[0], &c, 1);
	expect_err("attach to self", ptrace(PTRACE_ATTACH, getpid(), 0, 0), EPERM);
	expect_err("attach to nobody", ptrace(PTRACE_ATTACH, 99999999, 0, 0), ESRCH);
	expect_err("peek an untraced child", pt(PTRACE_PEEKDATA, pid, (unsigned long)&target, (unsigned long)&c), ESRCH);
	expect("attach", ptrace(PTRACE_ATTACH, pid, 0, 0) == 0);
	expect_err("attach twice", ptrace(PTRACE_ATTACH, pid, 0, 0), EPERM);
	int st = wait_for(pid);
	expect("attach's SIGSTOP", WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
	char f[64], want[32];
	snprintf(want, sizeof want, "%d", getpid());
	expect("TracerPid", proc_field(pid, "TracerPid:", f, sizeof f) == 0 && strcmp(f, want) == 0);
	expect("state: tracing stop", proc_field(pid, "State:", f, sizeof f) == 0 && f[0] == 't');
	expect("detach", ptrace(PTRACE_DETACH, pid, 0, 0) == 0);
	expect_err("detached: no longer traced", ptrace(PTRACE_CONT, pid, 0, 0), ESRCH);
	expect("TracerPid after detach", proc_field(pid, "TracerPid:", f, sizeof f) == 0 && strcmp(f, "0") == 0);

	/* Seize: no SIGSTOP; PTRACE_INTERRUPT stops it with PTRACE_EVENT_STOP. */
	expect("seize", ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD) == 0);
	expect_err("running: no continue", ptrace(PTRACE_CONT, pid, 0, 0), ESRCH);
	expect_err("interrupt of no tracee", ptrace(PTRACE_INTERRUPT, pid + 100000, 0, 0), ESRCH);
	expect("interrupt", ptrace(PTRACE_INTERRUPT, pid, 0, 0) == 0);
	st = wait_for(pid);
	expect("PTRACE_EVENT_STOP", WIFSTOPPED(st) && st >> 16 == PTRACE_EVENT_STOP && WSTOPSIG(st) == SIGTRAP);
	/* SIGKILL ends a stopped tracee. */
	kill(pid, SIGKILL);
	st = wait_for(pid);
	expect("SIGKILL ends the stopped tracee", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/* exitkill: a tracer that exits kills the tracee it asked PTRACE_O_EXITKILL for, and
 * lets the other go on. */
static void tracer_exits(void)
{
	for (int kill_it = 0; kill_it < 2; kill_it++) {
		int gone[2], go[2];
		pipe(gone);
		pipe(go);
		fflush(stdout);
		pid_t tracer = fork();
		if (tracer == 0) {
			pid_t tracee = fork();
			if (tracee == 0) {
				close(gone[0]);
				close(go[1]);
				char c;
				read(go[0], &c, 1); /* ends when the tracer is gone */
				write(gone[1], "alive\n", 6);
				_exit(0);
			}
			ptrace(PTRACE_SEIZE, tracee, 0, kill_it ? PTRACE_O_EXITKILL : 0);
			ptrace(PTRACE_INTERRUPT, tracee, 0, 0);
			wait_for(tracee);
			_exit(0); /* with its tracee stopped */
		}
		close(gone[1]);
		close(go[0]);
		int st = wait_for(tracer);
		close(go[1]);
		char buf[16] = {0};
		ssize_t n = read(gone[0], buf, sizeof buf - 1);
		close(gone[0]);
		printf("tracer exited %d; %s: the tracee %s\n", WEXITSTATUS(st), kill_it ? "EXITKILL" : "no EXITKILL",
		       n > 0 ? "went on" : "was killed");
	}
}

static void *thread_main(void *arg)
{
	(void)arg;
	syscall(SYS_getppid);
	return 0;
}

/* follow_child is a traced child that makes a child with fork, one with vfork and a
 * thread; its status tells what it saw of them. */
static void follow_child(void)
{
	ptrace(PTRACE_TRACEME, 0, 0, 0);
	raise(SIGSTOP);
	int st, ok = 0;
	pid_t a = fork();
	if (a == 0)
		_exit(4);
	if (waitpid(a, &st, 0) == a && WIFEXITED(st) && WEXITSTATUS(st) == 4)
		ok++;
	pid_t b = vfork();
	if (b == 0)
		_exit(6);
	if (waitpid(b, &st, 0) == b && WIFEXITED(st) && WEXITSTATUS(st) == 6)
		ok++;
	pthread_t th;
	if (pthread_create(&th, 0, thread_main, 0) == 0 && pthread_join(th, 0) == 0)
		ok++;
	_exit(ok);
}

/* follow traces a child with PTRACE_O_TRACEFORK, TRACEVFORK and TRACECLONE: each new
 * child or thread is traced from its first instruction, stopping with SIGSTOP, and the
 * child stops with the event, whose message is the new id. */
static void follow(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		follow_child();
	wait_for(pid);
	expect("setoptions TRACEFORK|TRACEVFORK|TRACECLONE|TRACEVFORKDONE",
	       ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEVFORKDONE) == 0);
	ptrace(PTRACE_CONT, pid, 0, 0);
	int events[8] = {0}, new_stops = 0, new_exits = 0, msgs_ok = 0, st, main_status = -1;
	pid_t news[8];
	int nnew = 0;
	pid_t w;
	while ((w = waitpid(-1, &st, __WALL)) > 0) {
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			/* Every report is collected, to ECHILD: vemu may report a grandchild's end
			 * to this tracer after the traced child's own (Linux holds the child's wait
			 * for the grandchild until its tracer has seen that end). */
			if (w == pid)
				main_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			else
				new_exits++;
			continue;
		}
		int event = st >> 16;
		if (event) {
			unsigned long msg = 0;
			ptrace(PTRACE_GETEVENTMSG, w, 0, &msg);
			if (event < 8)
				events[event]++;
			if (w == pid && msg > 0 && nnew < 8)
				news[nnew++] = msg;
			msgs_ok += w == pid && msg > 0;
		} else if (WSTOPSIG(st) == SIGSTOP && w != pid) {
			new_stops++;
		}
		ptrace(PTRACE_CONT, w, 0, 0);
	}
	int known = 0;
	for (int i = 0; i < nnew; i++)
		known += news[i] != pid;
	printf("fork events %d, vfork events %d, vfork-done events %d, clone events %d, messages %d (%d new ids), first stops of the new %d\n",
	       events[PTRACE_EVENT_FORK], events[PTRACE_EVENT_VFORK], events[PTRACE_EVENT_VFORK_DONE], events[PTRACE_EVENT_CLONE], msgs_ok,
	       known, new_stops);
	if (main_status != 3)
		printf("traced child status %d\n", main_status);
	expect("the traced child saw its children and thread end well", main_status == 3);
	(void)new_exits;
}

/* blocked: a tracee's read waits for the tracer's write; its exit stop comes with the
 * bytes read. Also waitid's view of a ptrace stop, and reads at addresses no process
 * has. */
static void blocked(void)
{
	int p[2];
	pipe(p);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char buf[8];
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		_exit(read(p[0], buf, sizeof buf));
	}
	siginfo_t si = {0};
	expect("waitid sees the stop", waitid(P_PID, pid, &si, WEXITED | WSTOPPED | WNOWAIT) == 0 && si.si_pid == pid &&
					       si.si_code == CLD_TRAPPED && si.si_status == SIGSTOP);
	expect("and leaves it for wait4", WIFSTOPPED(wait_for(pid)));
	long w;
	expect_err("peekdata at the top of the address space", pt(PTRACE_PEEKDATA, pid, -8UL, (unsigned long)&w), EIO);
	expect_err("peekdata above user space", pt(PTRACE_PEEKDATA, pid, 0x800000000000UL, (unsigned long)&w), EIO);
	expect_err("pokedata above user space", pt(PTRACE_POKEDATA, pid, 0x7ffffffffffcUL, 0), EIO);
	ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
	struct user_regs_struct r;
	int st;
	do {
		ptrace(PTRACE_SYSCALL, pid, 0, 0);
		st = wait_for(pid);
		ptrace(PTRACE_GETREGS, pid, 0, &r);
	} while (WIFSTOPPED(st) && r.orig_rax != SYS_read);
	expect("entry stop of the read", WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80) && r.rdx == 8);
	ptrace(PTRACE_SYSCALL, pid, 0, 0);
	usleep(20000);
	write(p[1], "abc", 3);
	st = wait_for(pid);
	ptrace(PTRACE_GETREGS, pid, 0, &r);
	expect("exit stop of the read, with the bytes read", WIFSTOPPED(st) && r.orig_rax == SYS_read && r.rax == 3);
	r.rax = 7;
	ptrace(PTRACE_SETREGS, pid, 0, &r);
	ptrace(PTRACE_CONT, pid, 0, 0);
	st = wait_for(pid);
	expect("the read returned what the tracer said", WIFEXITED(st) && WEXITSTATUS(st) == 7);
	close(p[0]);
	close(p[1]);
}

/* many_tracees traces n children at once, each stopping twice. */
static void many_tracees(int n)
{
	pid_t pids[200];
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			ptrace(PTRACE_TRACEME, 0, 0, 0);
			raise(SIGSTOP);
			syscall(SYS_getppid);
			_exit(i % 7);
		}
	}
	int stops = 0, exits = 0, sum = 0, st;
	pid_t w;
	while ((w = waitpid(-1, &st, 0)) > 0) {
		if (WIFSTOPPED(st)) {
			stops++;
			ptrace(WSTOPSIG(st) == SIGSTOP ? PTRACE_SYSCALL : PTRACE_CONT, w, 0, 0);
		} else if (WIFEXITED(st)) {
			exits++;
			sum += WEXITSTATUS(st);
		}
	}
	printf("%d tracees: %d stops, %d exits, statuses add up to %d\n", n, stops, exits, sum);
}

/* A tracer, with its tracee stopped, says ready and waits: for the host's SIGTERM. */
__attribute__((noreturn)) static void stopped_pair(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		_exit(0);
	}
	wait_for(pid);
	say("ready\n");
	for (;;)
		pause();
}

/* A child attaches to its parent, the first process, and says ready once it has
 * stopped it: the host's SIGTERM must still end vemu. */
__attribute__((noreturn)) static void stopped_parent(void)
{
	pid_t parent = getpid();
	int p[2];
	pipe(p);
	if (fork() == 0) {
		/* Not before the parent is past fork, which blocks every signal for a while
		 * in musl: a stop there would leave SIGTERM blocked. */
		char c;
		read(p[0], &c, 1);
		ptrace(PTRACE_ATTACH, parent, 0, 0);
		wait_for(parent);
		say("ready\n");
		for (;;)
			pause();
	}
	write(p[1], "g", 1);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exec-child") == 0)
		return exec_child();
	if (argc > 1 && strcmp(argv[1], "stopped-pair") == 0)
		stopped_pair();
	if (argc > 1 && strcmp(argv[1], "stopped-parent") == 0)
		stopped_parent();
	expect_err("continue a process that is not traced", pt(PTRACE_CONT, getpid(), 0, 0), ESRCH);
	expect_err("unknown request", pt(0x7777, getpid(), 0, 0), ESRCH);
	main_trace();
	exec_stops(argv[0]);
	step();
	attach();
	tracer_exits();
	follow();
	blocked();
	many_tracees(60);
	return failures != 0;
}
