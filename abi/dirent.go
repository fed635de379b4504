package abi

// Dirent64HeaderSize is the size of struct linux_dirent64 before d_name.
const Dirent64HeaderSize = 19

// Dirent64Len returns the record length of a linux_dirent64 for a name of n
// bytes: the header, the name and its NUL, rounded up to 8.
func Dirent64Len(n int) int {
	return (Dirent64HeaderSize + n + 1 + 7) &^ 7
}

// AppendDirent64 appends one struct linux_dirent64 record (d_ino, d_off,
// d_reclen, d_type, d_name with its NUL, zero padding to 8 bytes) to b.
func AppendDirent64(b []byte, ino uint64, off int64, typ uint8, name string) []byte {
	n := Dirent64Len(len(name))
	start := len(b)
	b = append(b, make([]byte, n)...)
	r := b[start:]
	put64(r, 0, ino)
	put64(r, 8, uint64(off))
	put16(r, 16, uint16(n))
	r[18] = typ
	copy(r[19:], name)
	return b
}
