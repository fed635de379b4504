/* procvm checks process_vm_readv and process_vm_writev: in the caller, in a child
 * (reading what it wrote, writing what it then checks), short transfers at an unmapped
 * page, and the errors Linux gives (EFAULT, ESRCH, EINVAL, EPERM for another user). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static char buf[64] = "parent's bytes";
static char page_end_msg[] = "0123456789";

int main(void)
{
	char local[64] = {0};
	struct iovec l = {local, sizeof local}, r = {buf, 15};
	pid_t me = getpid();
	expect("read own memory", process_vm_readv(me, &l, 1, &r, 1, 0) == 15 && strcmp(local, "parent's bytes") == 0);
	expect_err("flags", process_vm_readv(me, &l, 1, &r, 1, 1), EINVAL);
	struct iovec bad = {(void *)8, 4};
	expect_err("unmapped remote", process_vm_readv(me, &l, 1, &bad, 1, 0), EFAULT);
	expect_err("unmapped local", process_vm_readv(me, &bad, 1, &r, 1, 0), EFAULT);

	/* Short transfer: the remote range runs into an unmapped page. */
	char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(two + 4096, 4096);
	memcpy(two + 4096 - 10, page_end_msg, 10);
	struct iovec edge = {two + 4096 - 10, 20};
	expect("short read at an unmapped page", process_vm_readv(me, &l, 1, &edge, 1, 0) == 10);

	int in[2], out[2];
	pipe(in);
	pipe(out);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		strcpy(buf, "child's bytes");
		write(out[1], "r", 1);
		read(in[0], &c, 1);
		_exit(strcmp(buf, "written by the parent") == 0 ? 0 : 1);
	}
	char c;
	read(out[0], &c, 1);
	memset(local, 0, sizeof local);
	r.iov_len = 14;
	expect("read a child's memory", process_vm_readv(pid, &l, 1, &r, 1, 0) == 14 && strcmp(local, "child's bytes") == 0);
	char msg[] = "written by the parent";
	struct iovec src[2] = {{msg, 10}, {msg + 10, sizeof msg - 10}}, dst = {buf, sizeof msg};
	expect("write a child's memory", process_vm_writev(pid, src, 2, &dst, 1, 0) == (ssize_t)sizeof msg);
	struct iovec ro = {(void *)main, 4};
	expect_err("write into read-only code", process_vm_writev(pid, src, 1, &ro, 1, 0), EFAULT);
	write(in[1], "g", 1);
	int st;
	waitpid(pid, &st, 0);
	expect("the child saw the write", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	expect_err("a reaped child", process_vm_readv(pid, &l, 1, &r, 1, 0), ESRCH);

	if (getuid() == 0) {
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			if (setuid(1000))
				_exit(2);
			expect_err("another user's process", process_vm_readv(getppid(), &l, 1, &r, 1, 0), EPERM);
			fflush(stdout);
			_exit(failures);
		}
		waitpid(pid, &st, 0);
		failures += WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}
	return failures;
}
