package kernel

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFDBitsFirstFree(t *testing.T) {
	// Against a plain scan, over random sets and clears across several full words.
	r := rand.New(rand.NewPCG(1, 2))
	var b fdBits
	used := map[int]bool{}
	const n = 20000
	slow := func(min int) int {
		for i := min; ; i++ {
			if !used[i] {
				return i
			}
		}
	}
	for step := range 200000 {
		i := r.IntN(n)
		if step%3 == 0 && used[i] {
			b.clear(i)
			delete(used, i)
		} else {
			b.set(i)
			used[i] = true
		}
		if step%97 == 0 {
			min := r.IntN(n + 200)
			require.Equal(t, slow(min), b.firstFree(min), "from %d, step %d", min, step)
			require.Equal(t, slow(0), b.firstFree(0))
		}
	}
	// All used: the first free is past the end.
	var full fdBits
	for i := range 64 * 64 * 3 {
		full.set(i)
	}
	require.Equal(t, 64*64*3, full.firstFree(0))
	require.Equal(t, 64*64*3, full.firstFree(5000))
	full.clear(64*64*2 + 7)
	require.Equal(t, 64*64*2+7, full.firstFree(1))
}

func BenchmarkFDInstallNearlyFull(b *testing.B) {
	// Open and close the lowest descriptor of a table of 60,000 open ones, whose only
	// free descriptors are at its end.
	ft := &FDTable{}
	f := &File{fd: -1}
	for range 60000 {
		if _, err := ft.install(f, false, 0); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		ft.mu.Lock()
		ft.fds[3] = fdEntry{}
		ft.used.clear(3)
		ft.mu.Unlock()
		if n, err := ft.install(f, false, 0); err != nil || n != 3 {
			b.Fatal(n, err)
		}
		if n, err := ft.install(f, false, 4); err != nil || n != 60000 {
			b.Fatal(n, err)
		}
		ft.mu.Lock()
		ft.fds[60000] = fdEntry{}
		ft.used.clear(60000)
		ft.mu.Unlock()
	}
}
