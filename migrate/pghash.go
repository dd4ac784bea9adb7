package migrate

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// PostgreSQL's 64-bit hash functions, as the verification digest calls
// them on each column (src/common/hashfn.c, Bob Jenkins' lookup3 as
// PostgreSQL adapted it, and each type's extended hash support function),
// so that the client computes from its COPY fields the hash PostgreSQL
// computes from the stored value. A non-zero seed perturbs the initial
// state as hash_bytes_extended and hash_bytes_uint32_extended do (the
// seed's high half added to a, its low half to b, then one mix); the
// digest gives each column its own. Little-endian reads, as
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

// pgSeed perturbs the initial state with a non-zero seed.
func pgSeed(a, b, c uint32, seed uint64) (uint32, uint32, uint32) {
	if seed == 0 {
		return a, b, c
	}
	a += uint32(seed >> 32)
	b += uint32(seed)
	return pgMix(a, b, c)
}

// pgHashBytes is hash_bytes_extended(k, len, seed): text (deterministic
// collation) and bytea.
func pgHashBytes(k []byte, seed uint64) uint64 {
	a := 0x9e3779b9 + uint32(len(k)) + 3923095
	a, b, c := pgSeed(a, a, a, seed)
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

// pgHashUint32 is hash_bytes_uint32_extended(k, seed): bool (as int4),
// int2 and int4.
func pgHashUint32(k uint32, seed uint64) uint64 {
	a := uint32(0x9e3779b9 + 4 + 3923095)
	a, b, c := pgSeed(a, a, a, seed)
	a += k
	b, c = pgFinal(a, b, c)
	return uint64(b)<<32 | uint64(c)
}

// pgHashInt8 is hashint8extended (and interval_hash_extended of a
// difference of times, digest.go): the high half folded into the low one
// so that equal int4 and int8 values hash alike.
func pgHashInt8(v int64, seed uint64) uint64 {
	lo, hi := uint32(v), uint32(uint64(v)>>32)
	if v >= 0 {
		lo ^= hi
	} else {
		lo ^= ^hi
	}
	return pgHashUint32(lo, seed)
}

// pgHashFloat8 is hashfloat8extended (and hashfloat4extended, which
// widens to float8 first): zero (and minus zero) hash to the seed, every
// NaN alike.
func pgHashFloat8(f float64, seed uint64) uint64 {
	if f == 0 {
		return seed
	}
	bits := math.Float64bits(f)
	if math.IsNaN(f) {
		bits = 0x7ff8000000000000 // C's NAN, which PostgreSQL hashes for every NaN
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], bits)
	return pgHashBytes(b[:], seed)
}
