// Package emu runs x86-64 code on libunicorn and reports what stops it as typed events; it knows nothing about Linux.
package emu
