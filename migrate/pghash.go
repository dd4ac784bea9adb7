package migrate

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// PostgreSQL's 64-bit hash functions, as hash_record_extended computes a
// row's hash (src/common/hashfn.c, Bob Jenkins' lookup3 as PostgreSQL
// adapted it, and each type's extended hash support function), so that
// the client computes from its COPY fields the hash PostgreSQL computes
// from the stored row. Seed 0 throughout. Little-endian reads, as
// PostgreSQL on every platform it is built for in practice; a big-endian
// server only makes the digests differ, and the row-by-row comparison
// then verifies the tables (digest.go).

func pgMix(a, b, c uint32) (uint32, uint32, uint32) {
	a -= c
	a ^= bits.RotateLeft32(c, 4)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 6)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 8)
	b += a
	a -= c
	a ^= bits.RotateLeft32(c, 16)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 19)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 4)
	b += a
	return a, b, c
}

func pgFinal(a, b, c uint32) (uint32, uint32) {
	c ^= b
	c -= bits.RotateLeft32(b, 14)
	a ^= c
	a -= bits.RotateLeft32(c, 11)
	b ^= a
	b -= bits.RotateLeft32(a, 25)
	c ^= b
	c -= bits.RotateLeft32(b, 16)
	a ^= c
	a -= bits.RotateLeft32(c, 4)
	b ^= a
	b -= bits.RotateLeft32(a, 14)
	c ^= b
	c -= bits.RotateLeft32(b, 24)
	return b, c
}

// pgHashBytes is hash_bytes_extended(k, len, 0): text (deterministic
// collation) and bytea.
func pgHashBytes(k []byte) uint64 {
	a := 0x9e3779b9 + uint32(len(k)) + 3923095
	b, c := a, a
	for len(k) >= 12 {
		a += binary.LittleEndian.Uint32(k)
		b += binary.LittleEndian.Uint32(k[4:])
		c += binary.LittleEndian.Uint32(k[8:])
		a, b, c = pgMix(a, b, c)
		k = k[12:]
	}
	// The last 11 bytes; the lowest byte of c is left for the length.
	switch len(k) {
	case 11:
		c += uint32(k[10]) << 24
		fallthrough
	case 10:
		c += uint32(k[9]) << 16
		fallthrough
	case 9:
		c += uint32(k[8]) << 8
		fallthrough
	case 8:
		b += binary.LittleEndian.Uint32(k[4:])
		a += binary.LittleEndian.Uint32(k)
	case 7:
		b += uint32(k[6]) << 16
		fallthrough
	case 6:
		b += uint32(k[5]) << 8
		fallthrough
	case 5:
		b += uint32(k[4])
		fallthrough
	case 4:
		a += binary.LittleEndian.Uint32(k)
	case 3:
		a += uint32(k[2]) << 16
		fallthrough
	case 2:
		a += uint32(k[1]) << 8
		fallthrough
	case 1:
		a += uint32(k[0])
	}
	b, c = pgFinal(a, b, c)
	return uint64(b)<<32 | uint64(c)
}

// pgHashUint32 is hash_bytes_uint32_extended(k, 0): bool (as "char"),
// int2 and int4.
func pgHashUint32(k uint32) uint64 {
	a := uint32(0x9e3779b9 + 4 + 3923095)
	b, c := a, a
	a += k
	b, c = pgFinal(a, b, c)
	return uint64(b)<<32 | uint64(c)
}

// pgHashInt8 is hashint8extended (and timestamp_hash_extended): the high
// half folded into the low one so that equal int4 and int8 values hash
// alike.
func pgHashInt8(v int64) uint64 {
	lo, hi := uint32(v), uint32(uint64(v)>>32)
	if v >= 0 {
		lo ^= hi
	} else {
		lo ^= ^hi
	}
	return pgHashUint32(lo)
}

// pgHashFloat8 is hashfloat8extended: zero (and minus zero) hash to the
// seed, every NaN alike.
func pgHashFloat8(f float64) uint64 {
	if f == 0 {
		return 0
	}
	bits := math.Float64bits(f)
	if math.IsNaN(f) {
		bits = 0x7ff8000000000000 // C's NAN, which PostgreSQL hashes for every NaN
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], bits)
	return pgHashBytes(b[:])
}
