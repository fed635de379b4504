// Package kernel plays Linux for one guest program: it loads it, answers its system calls and turns CPU faults into signals.
package kernel
