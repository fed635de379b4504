// Package inject parses system call tampering in strace's -e inject= and -e fault= syntax
// and decides, call by call, which tampering applies.
package inject
