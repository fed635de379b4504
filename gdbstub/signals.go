package gdbstub

// The remote protocol numbers signals in gdb's own host-independent way: Linux's
// numbers go through these tables in stop replies and come back from C, S and vCont.

// linuxToGDB maps Linux signals 1..31 to gdb's numbers (0: none there).
var linuxToGDB = [32]int{
	1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 10, 8: 8, 9: 9, 10: 30,
	11: 11, 12: 31, 13: 13, 14: 14, 15: 15, 17: 20, 18: 19, 19: 17, 20: 18,
	21: 21, 22: 22, 23: 16, 24: 24, 25: 25, 26: 26, 27: 27, 28: 28, 29: 23, 30: 32, 31: 12,
}

// Real-time signals: 33..63 are contiguous from 45 in gdb's table; 32 and 64 sit apart.
const (
	gdbRealtime33 = 45
	gdbRealtime32 = 77
	gdbRealtime64 = 78
	gdbUnknown    = 143
)

// toGDB converts a Linux signal number to gdb's.
func toGDB(sig int) int {
	switch {
	case sig > 0 && sig < 32 && linuxToGDB[sig] != 0:
		return linuxToGDB[sig]
	case sig == 32:
		return gdbRealtime32
	case sig >= 33 && sig <= 63:
		return gdbRealtime33 + sig - 33
	case sig == 64:
		return gdbRealtime64
	case sig == 0:
		return 0
	}
	return gdbUnknown
}

// fromGDB converts a gdb signal number to Linux's; 0 when there is none.
func fromGDB(g int) int {
	switch {
	case g == gdbRealtime32:
		return 32
	case g == gdbRealtime64:
		return 64
	case g >= gdbRealtime33 && g < gdbRealtime33+31:
		return g - gdbRealtime33 + 33
	}
	for sig, v := range linuxToGDB {
		if v == g && v != 0 {
			return sig
		}
	}
	return 0
}
