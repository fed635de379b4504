// Package strace formats system calls the way strace(1) prints them.
package strace
