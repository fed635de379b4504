//go:build ignore

// Net is a guest program of the Go runtime's network and process machinery: an HTTP
// server and client on the loopback (sockets under the netpoller's epoll), a signal
// through os/signal, a child process through os/exec, and a refused connection.
//
// Usage: net.go.bin [child]
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	http.HandleFunc("/hi", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Query().Get("n"))
	})
	go http.Serve(ln, nil)
	for i := range 3 {
		resp, err := http.Get(fmt.Sprintf("http://%s/hi?n=%d", ln.Addr(), i))
		if err != nil {
			fmt.Println("get:", err)
			os.Exit(1)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(b))
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	select {
	case s := <-c:
		fmt.Println("got", s)
	case <-time.After(5 * time.Second):
		fmt.Println("no signal")
	}
	if len(os.Args) > 1 {
		return
	}
	out, err := exec.Command(os.Args[0], "child").CombinedOutput()
	fmt.Printf("child: %q %v\n", out, err)
	err = exec.Command(os.Args[0] + ".missing").Run()
	fmt.Println("missing program fails:", err != nil)
	conn, err := net.DialTimeout("tcp", "127.0.0.1:1", time.Second)
	fmt.Println("dial closed port:", conn == nil, err != nil)
	fileListener()
}

// fileListener serves through a listener made from another one's file (a second
// descriptor of one socket in the netpoller's epoll) while the first still serves.
func fileListener() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		return
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		fmt.Println("file:", err)
		return
	}
	ln2, err := net.FileListener(f)
	fmt.Println("listener from a file:", err)
	if err != nil {
		return
	}
	f.Close()
	accepted := make(chan string, 2)
	for i, l := range []net.Listener{ln, ln2} {
		go func() {
			c, err := l.Accept()
			if err == nil {
				c.Close()
			}
			accepted <- fmt.Sprint("listener ", i, " accepted: ", err == nil)
		}()
	}
	for range 2 {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer c.Close()
		}
	}
	got := []string{<-accepted, <-accepted}
	if got[0] > got[1] {
		got[0], got[1] = got[1], got[0]
	}
	fmt.Println(got[0])
	fmt.Println(got[1])
}
