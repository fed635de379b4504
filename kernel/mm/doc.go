// Package mm is a guest process's address space: mappings with permissions, backed by host memory that the CPU and the kernel share.
package mm
