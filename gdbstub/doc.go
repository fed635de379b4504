// Package gdbstub serves the GDB remote serial protocol for one debugged guest process, so
// that gdb's "target remote" can stop, inspect and resume it through a Target.
package gdbstub
