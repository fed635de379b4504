/* scripts execs #! scripts, as the kernel runs them: the interpreter with its optional
 * argument, the script's path and the original arguments; an interpreter that is itself
 * a script; a loop of them (ELOOP); a text file without #! (ENOEXEC). The interpreter is
 * the static busybox.
 *
 * Usage: scripts DIR (a scratch directory) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errnames.h"

static void put(const char *name, const char *text)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	write(fd, text, strlen(text));
	close(fd);
}

/* run execs argv in a child and prints its output's fate: the exit status, or the errno
 * of a failed exec. */
static void run(const char *what, char **argv)
{
	int p[2];
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		dup2(p[1], 1);
		execv(argv[0], argv);
		dprintf(p[1], "exec failed: %s\n", errname(errno));
		_exit(127);
	}
	close(p[1]);
	char out[512] = {0};
	size_t n = 0;
	ssize_t r;
	while ((r = read(p[0], out + n, sizeof out - 1 - n)) > 0)
		n += r;
	close(p[0]);
	int st;
	waitpid(c, &st, 0);
	printf("%s: %s", what, out);
	printf("%s: status %d\n", what, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2 || chdir(argv[1]) < 0) {
		fprintf(stderr, "usage: scripts DIR\n");
		return 2;
	}
	char here[4096], line[4200];
	getcwd(here, sizeof here);

	put("args.sh", "#!/bin/busybox sh\necho \"argv: ${0##*/} $*\"\nexit 4\n");
	snprintf(line, sizeof line, "#!%s/args.sh one two\n", here);
	put("nested.sh", line);
	snprintf(line, sizeof line, "#!%s/loop2.sh\n", here);
	put("loop1.sh", line);
	snprintf(line, sizeof line, "#!%s/loop1.sh\n", here);
	put("loop2.sh", line);
	put("plain.txt", "echo no interpreter line\n");
	put("missing-interp.sh", "#!/nonexistent/interp\n");
	put("spaces.sh", "#!   /bin/busybox   sh   \necho \"spaces: $0\"\n");

	run("a script", (char *[]){"./args.sh", "x", "y z", NULL});
	run("its interpreter is a script", (char *[]){"./nested.sh", "last", NULL});
	run("interpreters in a loop", (char *[]){"./loop1.sh", NULL});
	run("no #! line", (char *[]){"./plain.txt", NULL});
	run("spaces around the interpreter", (char *[]){"./spaces.sh", NULL});
	run("a missing interpreter", (char *[]){"./missing-interp.sh", NULL});
	return 0;
}
