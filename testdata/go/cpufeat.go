//go:build ignore

// Cpufeat is a guest program whose standard library picks code by the CPU's features
// (math/bits, crypto/aes with GCM, crypto/sha1, crypto/sha256, crypto/sha512, hash/crc32,
// math/big, strings and bytes): every result it prints must be the same on any x86-64 CPU.
package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash/crc32"
	"math"
	"math/big"
	"math/bits"
	"strings"
)

func main() {
	// Inputs from a fixed generator, long enough for the vector paths.
	data := make([]byte, 1<<16)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range data {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		data[i] = byte(x >> 24)
	}

	var pop, lz, tz, lz32 int
	var rev, swap uint64
	for i := 0; i+8 <= len(data); i += 8 {
		v := uint64(data[i]) | uint64(data[i+1])<<8 | uint64(data[i+2])<<16 | uint64(data[i+3])<<24 |
			uint64(data[i+4])<<32 | uint64(data[i+5])<<40 | uint64(data[i+6])<<48 | uint64(data[i+7])<<56
		v >>= uint(data[i] % 64)
		pop += bits.OnesCount64(v)
		lz += bits.LeadingZeros64(v)
		tz += bits.TrailingZeros64(v)
		lz32 += bits.LeadingZeros32(uint32(v))
		rev ^= bits.Reverse64(v)
		swap += bits.ReverseBytes64(v)
	}
	fmt.Println("bits", pop, lz, tz, lz32, rev, swap, bits.LeadingZeros64(1), bits.Len64(0))

	fmt.Printf("crc32 ieee %08x castagnoli %08x koopman %08x\n", crc32.ChecksumIEEE(data),
		crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)), crc32.Checksum(data, crc32.MakeTable(crc32.Koopman)))
	fmt.Printf("sha1 %x\nsha256 %x\nsha512 %x\n", sha1.Sum(data), sha256.Sum256(data), sha512.Sum512(data))

	for _, klen := range []int{16, 24, 32} {
		block, err := aes.NewCipher(data[:klen])
		if err != nil {
			panic(err)
		}
		var one [16]byte
		block.Encrypt(one[:], data[100:116])
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			panic(err)
		}
		sealed := gcm.Seal(nil, data[200:212], data[:5000], data[300:340])
		opened, err := gcm.Open(nil, data[200:212], sealed, data[300:340])
		ctr := make([]byte, 3000)
		cipher.NewCTR(block, data[400:416]).XORKeyStream(ctr, data[1000:4000])
		fmt.Printf("aes-%d block %x gcm %x open %v ctr %x\n", klen*8, one, sha256.Sum256(sealed),
			err == nil && bytes.Equal(opened, data[:5000]), sha256.Sum256(ctr))
	}

	a := new(big.Int).SetBytes(data[:4000])
	b := new(big.Int).SetBytes(data[4000:7000])
	p := new(big.Int).Mul(a, b)
	q, r := new(big.Int).QuoRem(p, new(big.Int).Add(b, big.NewInt(12345)), new(big.Int))
	fmt.Printf("big %x %x %x\n", sha256.Sum256(p.Bytes()), sha256.Sum256(q.Bytes()), sha256.Sum256(r.Bytes()))

	s := strings.ToLower(fmt.Sprintf("%x", data[:20000]))
	fmt.Println("strings", strings.Index(s, "deadbe"), strings.Count(s, "ab"), strings.LastIndex(s, "0f0"),
		bytes.IndexByte(data, 0xfe), bytes.Equal(data[:30000], data[:30000]), bytes.Compare(data[5:900], data[6:901]),
		strings.EqualFold(s[:1000], strings.ToUpper(s[:1000])))

	fmt.Println("math", math.FMA(1.0000001, 3.3333333, -3.3333336), math.Sqrt(2), math.Floor(-2.5), math.Trunc(7.9),
		math.Ceil(1.1), math.Round(2.5), math.RoundToEven(2.5))
}
