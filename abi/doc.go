// Package abi defines the x86-64 Linux guest ABI: system call numbers and signatures, flag values, and struct layouts with their encoders.
package abi
