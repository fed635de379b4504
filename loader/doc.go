// Package loader validates and parses static x86-64 ELF executables and lays out the initial process stack, as Linux's binfmt_elf does.
package loader
