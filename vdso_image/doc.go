// Package vdsoimage builds the x86-64 vDSO shared object (linux-vdso.so.1) mapped into every guest, and defines the layout of the vvar data page it reads.
package vdsoimage
