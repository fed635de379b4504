//go:build ignore

// Splicecopy copies from a TCP connection and from a Unix socket into files with
// io.Copy, which Go does with splice(2) through a pipe, and reads the files back; then
// it copies between two files (copy_file_range), from a pipe, and from a TCP connection
// into /dev/null (splice with SPLICE_F_NONBLOCK from the pipe in between, larger than
// PIPE_BUF).
//
// Usage: splicecopy.go.bin DIR
package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
)

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func copyFrom(network, addr, file string, data []byte) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write(data)
		c.Close()
	}()
	c, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(1)
	}
	f, err := os.Create(file)
	if err != nil {
		fmt.Println("create:", err)
		os.Exit(1)
	}
	n, err := io.Copy(f, c)
	c.Close()
	f.Close()
	got, _ := os.ReadFile(file)
	fmt.Printf("%s: copied %d bytes, err %v, same %v, sha256 %x\n", network, n, err, bytes.Equal(got, data), sha256.Sum256(got))
}

func main() {
	dir := os.Args[1]
	data := payload(1<<20 + 123)
	copyFrom("tcp", "127.0.0.1:0", filepath.Join(dir, "tcp.out"), data)
	copyFrom("unix", filepath.Join(dir, "sock"), filepath.Join(dir, "unix.out"), data[:300000])
	copyFrom("tcp", "127.0.0.1:0", os.DevNull, data)

	src, _ := os.Open(filepath.Join(dir, "tcp.out"))
	dst, _ := os.Create(filepath.Join(dir, "file.out"))
	n, err := io.Copy(dst, src)
	src.Close()
	dst.Close()
	fmt.Printf("file: copied %d bytes, err %v\n", n, err)

	r, w, _ := os.Pipe()
	go func() { w.Write(data[:70000]); w.Close() }()
	dst, _ = os.Create(filepath.Join(dir, "pipe.out"))
	n, err = io.Copy(dst, r)
	dst.Close()
	got, _ := os.ReadFile(filepath.Join(dir, "pipe.out"))
	fmt.Printf("pipe: copied %d bytes, err %v, same %v\n", n, err, bytes.Equal(got, data[:70000]))
}
