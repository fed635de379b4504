// Package vemutest runs static x86-64 Linux programs under vemu from Go tests, with
// system calls tampered with as strace's -e inject= does or by a Go function, and returns
// what they did: status, output and every system call.
package vemutest
