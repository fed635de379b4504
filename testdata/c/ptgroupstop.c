/* ptgroupstop checks what a tracer of every thread of a process sees, as Linux shows it:
 * a stop signal puts each traced thread in a group-stop of its own, reported by its own
 * wait (PTRACE_EVENT_STOP when seized) and ended by its own restart (PTRACE_LISTEN
 * under PTRACE_SEIZE, each thread then stopping again at SIGCONT); the process's
 * parent, when not its tracer, learns of the group-stop once every thread stopped in
 * it (or once a thread yet to stop ends instead; an exec by another thread ends the
 * group-stop), and of the SIGCONT that ends it; and a process's end (exit_group by any thread)
 * stops each traced thread with PTRACE_EVENT_EXIT, after which each thread's end is
 * reported, the first thread's last. And the attacker's cases: 64 threads stopped and
 * restarted over and over, a tracer that dies while the threads are in group-stop (the
 * process stays stopped until SIGCONT), SIGKILL in the middle of the stops. Everything
 * is counted, so that the order in which threads stop does not show. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pt.h"

#define MAXT 64

/* What the tracer sees of its target without tracing it: each thread's id and count
 * (slot 0 is the first thread; slot 1 spins, the even slots sleep in a loop, the odd
 * ones from 3 read commands). */
struct shared {
	volatile long count[MAXT];
	volatile int tid[MAXT];
	volatile int started;
};

static struct shared *sh;
static int cmd[2];   /* read by the odd threads: 'x' exit_group(5), 'e' exit(3) */
static int lead[2];  /* read by the first thread: 'x' exit_group(6) */
static pid_t victim; /* the target, killed if the tracer waits in vain */
static int nthreads;

static void on_alarm(int sig)
{
	(void)sig;
	kill(victim, SIGKILL);
	static const char msg[] = "timed out waiting for a stop\n";
	write(1, msg, sizeof msg - 1);
	_exit(1);
}

static void *worker(void *arg)
{
	long i = (long)arg;
	sh->tid[i] = syscall(SYS_gettid);
	__atomic_fetch_add(&sh->started, 1, __ATOMIC_SEQ_CST);
	if (i == 1)
		for (;;)
			sh->count[i]++;
	if (i % 2 == 0)
		for (;;) {
			pause_ms(1);
			sh->count[i]++;
		}
	for (;;) {
		char c = 0;
		if (read(cmd[0], &c, 1) == 1 && c == 'x')
			syscall(SYS_exit_group, 5);
		if (c == 'e')
			syscall(SYS_exit, 3);
		sh->count[i]++;
	}
	return 0;
}

/* target starts a process of n threads, each running (or waiting in a call). */
static pid_t target(int n)
{
	memset((void *)sh, 0, sizeof *sh);
	pipe(cmd);
	pipe(lead);
	nthreads = n;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		sh->tid[0] = getpid();
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 64 << 10);
		for (long i = 1; i < n; i++) {
			pthread_t th;
			pthread_create(&th, &a, worker, (void *)i);
		}
		for (;;) {
			char c = 0;
			if (read(lead[0], &c, 1) == 1 && c == 'x')
				syscall(SYS_exit_group, 6);
			if (c == 'E')
				execl("/proc/self/exe", "ptgroupstop", "idle", (char *)0);
		}
	}
	victim = pid;
	while (sh->started < n - 1)
		pause_ms(1);
	return pid;
}

static void end_target(void)
{
	close(cmd[0]);
	close(cmd[1]);
	close(lead[0]);
	close(lead[1]);
}

static int slot(pid_t tid)
{
	for (int i = 0; i < nthreads; i++)
		if (sh->tid[i] == tid)
			return i;
	return -1;
}

/* attach_all traces every thread of the target with opts, by PTRACE_SEIZE or by
 * PTRACE_ATTACH and its SIGSTOP; the first n only. */
static int attach_all(int n, int seize, long opts)
{
	int ok = 1, st;
	for (int i = 0; i < n; i++)
		ok &= pt(seize ? PTRACE_SEIZE : PTRACE_ATTACH, sh->tid[i], 0, seize ? opts : 0) == 0;
	if (!seize)
		for (int i = 0; i < n; i++) {
			ok &= waitpid(sh->tid[i], &st, __WALL) == sh->tid[i] && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP;
			ok &= pt(PTRACE_SETOPTIONS, sh->tid[i], 0, opts) == 0;
			ok &= pt(PTRACE_CONT, sh->tid[i], 0, 0) == 0;
		}
	return ok;
}

/* grows says whether slot i's count grows (within five seconds). */
static int grows(int i)
{
	long a = sh->count[i];
	for (int n = 0; n < 500; n++) {
		pause_ms(10);
		if (sh->count[i] != a)
			return 1;
	}
	return 0;
}

/* still says whether slots 1 and 2 (a spinning and a sleeping thread) stay as they
 * are for a while. */
static int still(void)
{
	long a = sh->count[1], b = sh->count[2];
	pause_ms(100);
	return sh->count[1] == a && sh->count[2] == b;
}

/* signal_stop takes the signal-delivery stop of sig that one thread reports and
 * injects sig; it returns the thread's id, 0 if the stop was not that. */
static pid_t signal_stop(int sig)
{
	int st = 0;
	siginfo_t si;
	pid_t t = waitpid(-1, &st, __WALL);
	memset(&si, 0, sizeof si);
	if (t <= 0 || slot(t) < 0 || !WIFSTOPPED(st) || WSTOPSIG(st) != sig || st >> 16 != 0 ||
	    pt(PTRACE_GETSIGINFO, t, 0, (unsigned long)&si) != 0 || si.si_signo != sig) {
		printf("  unexpected: %d status %#x\n", t, st);
		return 0;
	}
	pt(PTRACE_CONT, t, 0, sig);
	return t;
}

/* group_stops waits for n stops with sig (event PTRACE_EVENT_STOP when seize); it
 * returns the number of threads that stopped once as asked, and says in *info whether each stop's siginfo was Linux's
 * (none for a group-stop of an attached thread). */
static int group_stops(int n, int sig, int seize, int *info)
{
	int seen[MAXT] = {0}, got = 0;
	*info = 1;
	while (got < n) {
		int st = 0;
		pid_t t = waitpid(-1, &st, __WALL);
		int s = t > 0 ? slot(t) : -1;
		if (s < 0 || !WIFSTOPPED(st) || WSTOPSIG(st) != sig || (st >> 16) != (seize ? PTRACE_EVENT_STOP : 0)) {
			printf("  unexpected: %d status %#x\n", t, st);
			break;
		}
		siginfo_t si;
		memset(&si, 0, sizeof si);
		errno = 0;
		long r = pt(PTRACE_GETSIGINFO, t, 0, (unsigned long)&si);
		if (seize)
			*info &= r == 0 && si.si_signo == sig && si.si_code == (sig | PTRACE_EVENT_STOP << 8);
		else
			*info &= r < 0 && errno == EINVAL;
		seen[s]++;
		got++;
	}
	int once = 0;
	for (int i = 0; i < nthreads; i++)
		once += seen[i] == 1;
	return once;
}

/* restart_all restarts the first n threads with req. */
static int restart_all(int n, long req)
{
	int ok = 1;
	for (int i = 0; i < n; i++)
		ok &= pt(req, sh->tid[i], 0, 0) == 0;
	return ok;
}

/* reap kills the target and takes each traced thread's end (the first n), restarting
 * the stops that come first (a group-stop reported late, PTRACE_EVENT_EXIT, which
 * kernels differ about after SIGKILL); it says whether each was reported once, killed by SIGKILL, the first
 * thread's last. */
static int reap(pid_t pid, int n)
{
	int ends[MAXT] = {0}, ok = 1, st;
	kill(pid, SIGKILL);
	for (;;) {
		pid_t t = waitpid(-1, &st, __WALL);
		if (t < 0)
			break;
		int s = slot(t);
		if (s >= 0 && WIFSTOPPED(st))
			pt(PTRACE_CONT, t, 0, 0);
		if (s < 0 || WIFSTOPPED(st))
			continue;
		ends[s]++;
		ok &= WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
		if (t == pid)
			break;
	}
	for (int i = 0; i < n; i++)
		ok &= ends[i] == 1;
	return ok;
}

/* stop_round stops the target's n threads with SIGSTOP, checks each thread's
 * group-stop and restarts them: PTRACE_CONT when attached; when seized, PTRACE_LISTEN,
 * then SIGCONT, which stops each again, and PTRACE_CONT. verbose prints each step; the
 * result is the number of steps that went wrong. */
static int stop_round(pid_t pid, int n, int seize, int verbose)
{
	int bad = 0, info;
	kill(pid, SIGSTOP);
	pid_t first = signal_stop(SIGSTOP);
	bad += first == 0;
	if (verbose)
		printf("  one thread's signal-delivery stop for SIGSTOP: %s\n", first ? "yes" : "NO");
	int once = group_stops(n, SIGSTOP, seize, &info);
	bad += (once != n) + !info;
	if (verbose) {
		printf("  threads in group-stop, each reported once: %d of %d\n", once, n);
		printf("  their siginfo: %s\n", info ? (seize ? "sig|PTRACE_EVENT_STOP<<8" : "EINVAL") : "NO");
	}
	int st;
	int quiet = waitpid(-1, &st, __WALL | WNOHANG) == 0 && still();
	bad += !quiet;
	if (verbose)
		printf("  nothing more to report, no thread runs: %s\n", quiet ? "yes" : "NO");
	if (!seize) {
		int ok = restart_all(n, PTRACE_CONT) && grows(1) && grows(2);
		bad += !ok;
		if (verbose)
			printf("  each restarted with PTRACE_CONT, they run: %s\n", ok ? "yes" : "NO");
		return bad;
	}
	int ok = restart_all(n, PTRACE_LISTEN) && waitpid(-1, &st, __WALL | WNOHANG) == 0 && still();
	bad += !ok;
	if (verbose)
		printf("  each listens, still stopped: %s\n", ok ? "yes" : "NO");
	kill(pid, SIGCONT);
	once = group_stops(n, SIGTRAP, 1, &info);
	bad += once != n;
	if (verbose)
		printf("  SIGCONT: threads stopped again with SIGTRAP, each once: %d of %d\n", once, n);
	ok = restart_all(n, PTRACE_CONT);
	pid_t t = signal_stop(SIGCONT);
	ok &= t != 0 && grows(1) && grows(2);
	bad += !ok;
	if (verbose)
		printf("  each restarted, one takes SIGCONT, they run: %s\n", ok ? "yes" : "NO");
	return bad;
}

static void group_stop(int n, int seize)
{
	pid_t pid = target(n);
	expect("trace every thread", attach_all(n, seize, 0));
	for (int round = 0; round < 2; round++) {
		printf(" round %d\n", round + 1);
		failures += stop_round(pid, n, seize, 1);
	}
	expect("each thread's death", reap(pid, n));
	end_target();
}

static void many(int seize)
{
	pid_t pid = target(MAXT);
	expect("trace 64 threads", attach_all(MAXT, seize, 0));
	int bad = 0;
	for (int round = 0; round < 10; round++)
		bad += stop_round(pid, MAXT, seize, 0);
	expect("10 rounds, each thread stopped and restarted in each", bad == 0);
	expect("each thread's death", reap(pid, MAXT));
	end_target();
}

/* tracer_dies: a tracer ends while the threads are in group-stop, one of them
 * restarted: the process stays stopped until SIGCONT, untraced. */
static void tracer_dies(int n, int seize)
{
	pid_t pid = target(n);
	int done[2];
	pipe(done);
	fflush(stdout);
	pid_t tracer = fork();
	if (tracer == 0) {
		int ok = attach_all(n, seize, 0), info;
		kill(pid, SIGSTOP);
		ok &= signal_stop(SIGSTOP) != 0;
		ok &= group_stops(n, SIGSTOP, seize, &info) == n;
		ok &= pt(PTRACE_CONT, sh->tid[1], 0, 0) == 0;
		char c = ok;
		write(done[1], &c, 1);
		_exit(0);
	}
	char c = 0;
	read(done[0], &c, 1);
	expect("the tracer saw each thread's group-stop", c == 1);
	int st;
	waitpid(tracer, &st, 0);
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int state = 0;
	for (int i = 0; i < 500 && state != 'T'; i++) {
		char *e = read_text(path, buf, sizeof buf) ? strrchr(buf, ')') : NULL;
		state = e ? e[2] : 0;
		if (state != 'T')
			pause_ms(10);
	}
	expect("once the tracer ended, the process is stopped", state == 'T' && still());
	int once = waitpid(pid, &st, WUNTRACED | WNOHANG) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP;
	expect("its parent's wait reports the stop once", once && waitpid(pid, &st, WUNTRACED | WNOHANG) == 0);
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	expect("untraced", read_text(path, buf, sizeof buf) && strstr(buf, "TracerPid:\t0\n"));
	kill(pid, SIGCONT);
	expect("SIGCONT: it runs", grows(1) && grows(2));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(done[0]);
	close(done[1]);
	end_target();
}

/* parent_sees: the process's parent, not its tracer, learns of the group-stop once
 * every thread stopped in it, and of the SIGCONT that ends it, through its wait. */
static void parent_sees(int n, int seize)
{
	pid_t pid = target(n);
	int done[2];
	pipe(done);
	fflush(stdout);
	pid_t tracer = fork();
	if (tracer == 0) {
		int ok = attach_all(n, seize, 0), info, st;
		kill(pid, SIGSTOP);
		ok &= signal_stop(SIGSTOP) != 0;
		ok &= group_stops(n, SIGSTOP, seize, &info) == n;
		ok &= restart_all(n, seize ? PTRACE_LISTEN : PTRACE_CONT);
		char c = ok;
		write(done[1], &c, 1);
		/* Then each stop is restarted, with its signal, until the target ends. */
		for (;;) {
			pid_t t = waitpid(-1, &st, __WALL);
			if (t < 0 || (t == pid && !WIFSTOPPED(st)))
				break;
			if (WIFSTOPPED(st))
				pt(PTRACE_CONT, t, 0, st >> 16 ? 0 : WSTOPSIG(st));
		}
		_exit(0);
	}
	char c = 0;
	read(done[0], &c, 1);
	expect("the tracer saw each thread's group-stop", c == 1);
	int st = 0;
	expect("the parent's wait sees the process stopped",
	       waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
	kill(pid, SIGCONT);
	expect("and continued after SIGCONT", waitpid(pid, &st, WCONTINUED) == pid && WIFCONTINUED(st));
	expect("it runs", grows(1) && grows(2));
	kill(pid, SIGKILL);
	expect("then its end", waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	waitpid(tracer, &st, 0);
	close(done[0]);
	close(done[1]);
	end_target();
}

/* hold_at_entry restarts thread tid with PTRACE_SYSCALL until it stops at the entry of
 * call nr (-1: of any call); 0 if it does not. */
static int hold_at_entry(pid_t tid, long nr)
{
	for (int i = 0; i < 100; i++) {
		int st;
		if (pt(PTRACE_SYSCALL, tid, 0, 0) != 0 || waitpid(tid, &st, __WALL) != tid || !WIFSTOPPED(st))
			return 0;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80))
			continue;
		long orig = -1, rax = -1;
		pt(PTRACE_PEEKUSER, tid, offsetof(struct user_regs_struct, orig_rax), (unsigned long)&orig);
		pt(PTRACE_PEEKUSER, tid, offsetof(struct user_regs_struct, rax), (unsigned long)&rax);
		if (rax == -ENOSYS && (nr < 0 || orig == nr))
			return 1;
	}
	return 0;
}

/* parent_after: one thread held at a call's entry has yet to stop in the group-stop when
 * the others have; the parent learns of the stop once that thread ends instead (exit),
 * and not when another thread's exec ends it (Linux's exec cancels the group-stop). */
static void parent_after(int by_exec)
{
	int n = 4;
	pid_t pid = target(n);
	int done[2], go[2];
	pipe(done);
	pipe(go);
	fflush(stdout);
	pid_t tracer = fork();
	if (tracer == 0) {
		int ok = attach_all(n, 1, PTRACE_O_TRACESYSGOOD), info, st;
		pid_t b = sh->tid[3];
		/* Thread 3 waits in read: it stops, then is held at its next call's entry. */
		ok &= pt(PTRACE_INTERRUPT, b, 0, 0) == 0 && waitpid(b, &st, __WALL) == b && st >> 16 == PTRACE_EVENT_STOP;
		if (!by_exec)
			write(cmd[1], "e", 1);
		ok &= hold_at_entry(b, by_exec ? -1 : SYS_exit);
		kill(pid, SIGSTOP);
		ok &= signal_stop(SIGSTOP) != 0;
		ok &= group_stops(n - 1, SIGSTOP, 1, &info) == n - 1;
		char c = ok;
		write(done[1], &c, 1);
		read(go[0], &c, 1);
		if (by_exec) {
			pt(PTRACE_CONT, pid, 0, 0);
			write(lead[1], "E", 1);
		} else {
			pt(PTRACE_CONT, b, 0, 0);
		}
		/* Then each stop is restarted, with its signal, until the target ends; the
		 * ends of the threads the exec or exit ended come first. */
		int ends = 0;
		for (;;) {
			pid_t t = waitpid(-1, &st, __WALL);
			if (t < 0 || (t == pid && !WIFSTOPPED(st)))
				break;
			if (WIFSTOPPED(st))
				pt(PTRACE_CONT, t, 0, st >> 16 ? 0 : WSTOPSIG(st));
			else if (++ends == (by_exec ? n - 1 : 1))
				write(done[1], &c, 1);
		}
		_exit(0);
	}
	char c = 0;
	read(done[0], &c, 1);
	expect("one thread held at a call's entry, the others in group-stop", c == 1);
	int st = 0;
	expect("the parent's wait has nothing yet", waitpid(pid, &st, WUNTRACED | WNOHANG) == 0);
	write(go[1], &c, 1);
	read(done[0], &c, 1);
	int r = waitpid(pid, &st, WUNTRACED | WNOHANG);
	if (by_exec)
		expect("after the exec ended it, the parent's wait has nothing", r == 0);
	else
		expect("once it exited, the parent's wait sees the process stopped", r == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
	kill(pid, SIGKILL);
	expect("then its end", waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	waitpid(tracer, &st, 0);
	close(done[0]);
	close(done[1]);
	close(go[0]);
	close(go[1]);
	end_target();
}

/* killed: SIGKILL while some threads are in group-stop and others on their way. */
static void killed(int n, int seize)
{
	pid_t pid = target(n);
	expect("trace every thread", attach_all(n, seize, 0));
	kill(pid, SIGSTOP);
	int info, ok = signal_stop(SIGSTOP) != 0 && group_stops(1, SIGSTOP, seize, &info) == 1;
	expect("one thread's group-stop", ok);
	expect("SIGKILL: each thread's death", reap(pid, n));
	end_target();
}

/* exits: the process ends by exit_group (by the first thread, or another) with the
 * first traced threads traced with PTRACE_O_TRACEEXIT: each stops with
 * PTRACE_EVENT_EXIT, then its end is reported. */
static void exits(int n, int traced, int seize, int by_first, int kill_at)
{
	pid_t pid = target(n);
	expect("trace with PTRACE_O_TRACEEXIT", attach_all(traced, seize, PTRACE_O_TRACEEXIT));
	int code = by_first ? 6 : 5;
	write(by_first ? lead[1] : cmd[1], "x", 1);
	int stops[MAXT] = {0}, ends[MAXT] = {0}, msg_ok = 1, end_ok = 1, others = 0, nstops = 0, st;
	int first_last = 1, killed = 0;
	for (;;) {
		pid_t t = waitpid(-1, &st, __WALL);
		int s = t > 0 ? slot(t) : -1;
		if (s < 0) {
			printf("  unexpected: %d status %#x\n", t, st);
			break;
		}
		if (WIFSTOPPED(st)) {
			if (st >> 16 != PTRACE_EVENT_EXIT || WSTOPSIG(st) != SIGTRAP) {
				others++;
				pt(PTRACE_CONT, t, 0, 0);
				continue;
			}
			unsigned long msg = 0;
			msg_ok &= pt(PTRACE_GETEVENTMSG, t, 0, (unsigned long)&msg) == 0 && msg == (unsigned long)code << 8;
			stops[s]++;
			if (++nstops == kill_at && !killed) {
				killed = 1;
				kill(pid, SIGKILL);
			}
			pt(PTRACE_CONT, t, 0, 0);
			continue;
		}
		ends[s]++;
		end_ok &= WIFEXITED(st) && WEXITSTATUS(st) == code;
		if (t == pid) {
			for (int i = 1; i < traced; i++)
				first_last &= ends[i] == 1;
			break;
		}
	}
	int once = 0, ended = 0;
	for (int i = 0; i < traced; i++) {
		once += stops[i] == 1;
		ended += ends[i] == 1;
	}
	printf("  PTRACE_EVENT_EXIT stops, one for each traced thread: %d of %d\n", once, traced);
	expect("  each with the exit status as its message", msg_ok && once == traced);
	printf("  ends reported, one for each traced thread: %d of %d\n", ended, traced);
	expect("  each exited with the process's code", end_ok && ended == traced);
	expect("  the first thread's last", first_last);
	expect("  no other stops", others == 0);
	expect("  and nothing left to wait for", waitpid(-1, &st, __WALL | WNOHANG) < 0 && errno == ECHILD);
	end_target();
}

/* thread_exit: one thread ends alone (exit, not exit_group) under PTRACE_O_TRACEEXIT:
 * it stops with PTRACE_EVENT_EXIT, then its end is reported; the others run on. */
static void thread_exit(int n, int seize)
{
	pid_t pid = target(n);
	expect("trace with PTRACE_O_TRACEEXIT", attach_all(n, seize, PTRACE_O_TRACEEXIT));
	write(cmd[1], "e", 1);
	int st;
	pid_t t = waitpid(-1, &st, __WALL);
	unsigned long msg = 0;
	int ok = t == sh->tid[3] && WIFSTOPPED(st) && st >> 16 == PTRACE_EVENT_EXIT &&
		 pt(PTRACE_GETEVENTMSG, t, 0, (unsigned long)&msg) == 0 && msg == 3 << 8;
	expect("the thread stops with PTRACE_EVENT_EXIT, status 3 its message", ok);
	pt(PTRACE_CONT, t, 0, 0);
	ok = waitpid(-1, &st, __WALL) == sh->tid[3] && WIFEXITED(st) && WEXITSTATUS(st) == 3;
	expect("then its end is reported", ok);
	expect("the others run on", grows(1) && grows(2));
	expect("each other thread's death", reap(pid, 3));
	end_target();
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "idle") == 0)
		for (;;)
			pause();
	setvbuf(stdout, 0, _IOLBF, 0);
	sh = mmap(0, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, 0);

	alarm(60);
	printf("-- group-stop, 4 threads attached\n");
	group_stop(4, 0);
	alarm(60);
	printf("-- group-stop, 4 threads seized\n");
	group_stop(4, 1);
	alarm(120);
	printf("-- 64 threads attached\n");
	many(0);
	alarm(120);
	printf("-- 64 threads seized\n");
	many(1);
	alarm(60);
	printf("-- the tracer dies, threads attached\n");
	tracer_dies(4, 0);
	alarm(60);
	printf("-- the tracer dies, threads seized\n");
	tracer_dies(4, 1);
	alarm(60);
	printf("-- the parent of a process whose threads are attached\n");
	parent_sees(4, 0);
	alarm(60);
	printf("-- the parent of a process whose threads are seized\n");
	parent_sees(4, 1);
	alarm(60);
	printf("-- the parent, when a thread ends before its stop\n");
	parent_after(0);
	alarm(60);
	printf("-- the parent, when an exec ends the group-stop\n");
	parent_after(1);
	alarm(60);
	printf("-- SIGKILL during the stops\n");
	killed(4, 0);
	killed(4, 1);
	alarm(60);
	printf("-- exit_group by another thread, all seized\n");
	exits(4, 4, 1, 0, 0);
	printf("-- exit_group by the first thread, all attached\n");
	exits(4, 4, 0, 1, 0);
	printf("-- exit_group, the first thread alone traced\n");
	exits(4, 1, 1, 0, 0);
	printf("-- exit_group by another thread, 64 threads seized\n");
	alarm(120);
	exits(MAXT, MAXT, 1, 0, 0);
	alarm(60);
	printf("-- exit of one thread\n");
	thread_exit(4, 1);
	alarm(0);
	return failures != 0;
}
