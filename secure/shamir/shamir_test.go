package shamir

import (
	"bytes"
	crand "crypto/rand"
	"errors"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// refMul is the field product by its definition: the carry-less product of the two
// polynomials as big integers, reduced modulo x^128 + x^7 + x^2 + x + 1 bit by bit.
func refMul(a, b element) element {
	toBig := func(e element) *big.Int {
		v := new(big.Int).SetUint64(e.hi)
		return v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(e.lo))
	}
	x, y := toBig(a), toBig(b)
	p := new(big.Int)
	for i := 0; i < y.BitLen(); i++ {
		if y.Bit(i) == 1 {
			p.Xor(p, new(big.Int).Lsh(x, uint(i)))
		}
	}
	poly := new(big.Int).SetBit(big.NewInt(0x87), 128, 1)
	for i := p.BitLen() - 1; i >= 128; i-- {
		if p.Bit(i) == 1 {
			p.Xor(p, new(big.Int).Lsh(poly, uint(i-128)))
		}
	}
	lo := new(big.Int).And(p, new(big.Int).SetUint64(^uint64(0))).Uint64()
	return element{new(big.Int).Rsh(p, 64).Uint64(), lo}
}

func randElement(r *rand.Rand) element { return element{r.Uint64(), r.Uint64()} }

func TestFieldAgainstDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := element{lo: 2}
	// x^128 reduces to x^7 + x^2 + x + 1: the polynomial pycryptodome uses.
	p := element{lo: 1}
	for i := 0; i < 128; i++ {
		p = p.mul(x)
	}
	if p != (element{lo: 0x87}) {
		t.Fatalf("x^128 = %x %x, want 0x87", p.hi, p.lo)
	}
	for i := 0; i < 20000; i++ {
		a, b := randElement(r), randElement(r)
		if i%7 == 0 {
			a.hi = 0 // small operands too
		}
		if got, want := a.mul(b), refMul(a, b); got != want {
			t.Fatalf("%x·%x = %x, want %x", a, b, got, want)
		}
		if got, want := a.mulHorner(b), refMul(a, b); got != want {
			t.Fatalf("Horner: %x·%x = %x, want %x", a, b, got, want)
		}
	}
	ones, top := element{^uint64(0), ^uint64(0)}, element{hi: 1 << 63}
	for _, p := range [][2]element{{ones, ones}, {top, top}, {ones, top}, {{lo: 1 << 63}, {hi: 1 << 63}}} {
		if got, want := p[0].mul(p[1]), refMul(p[0], p[1]); got != want {
			t.Fatalf("%x·%x = %x, want %x", p[0], p[1], got, want)
		}
	}
	for i := 0; i < 50; i++ {
		a := randElement(r)
		if got := a.mul(a.inv()); got != (element{lo: 1}) {
			t.Fatalf("a·a^-1 = %x for a = %x", got, a)
		}
	}
	as := []element{randElement(r), {lo: 3}, randElement(r), {hi: 1 << 63}}
	for i, v := range invertAll(as) {
		if v != as[i].inv() {
			t.Fatalf("invertAll[%d] differs from inv", i)
		}
	}
}

// TestEncoding pins the byte order: bytes big-endian, the last byte's low bit x^0.
func TestEncoding(t *testing.T) {
	b := make([]byte, 16)
	b[15] = 0x02 // x
	e := decode(b)
	if e != (element{lo: 2}) {
		t.Fatalf("decode = %x", e)
	}
	b[0] = 0x80 // x^127
	e = decode(b)
	if got := e.mul(element{lo: 2}); got != (element{lo: 0x87 ^ 4}) {
		t.Fatalf("(x^127 + x)·x = %x, want x^7+x^2+x+1 + x^2", got)
	}
	out := make([]byte, 16)
	e.put(out)
	if !bytes.Equal(out, b) {
		t.Fatalf("put(decode(b)) = %x, want %x", out, b)
	}
}

func points(n int) []uint32 {
	xs := make([]uint32, n)
	for i := range xs {
		xs[i] = uint32(i + 1)
	}
	return xs
}

func TestSplitRecover(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 200; trial++ {
		n := 1 + r.IntN(25)
		th := 1 + r.IntN(n)
		secret := make([]byte, BlockSize*(1+r.IntN(3)))
		crand.Read(secret)
		xs := points(n)
		r.Shuffle(n, func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
		shares, err := Split(secret, th, xs, crand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		// Any subset of th or more recovers it; th-1 give something else.
		m := th + r.IntN(n-th+1)
		pick := r.Perm(n)[:m]
		var px []uint32
		var py [][]byte
		for _, i := range pick {
			px, py = append(px, xs[i]), append(py, shares[i])
		}
		b, err := NewBasis(th, px)
		if err != nil {
			t.Fatal(err)
		}
		got, bad, err := b.Recover(py, nil)
		if err != nil || !bytes.Equal(got, secret) || bad != nil {
			t.Fatalf("n=%d t=%d m=%d: got %x bad %v err %v, want %x", n, th, m, got, bad, err, secret)
		}
		if th > 1 {
			b, _ := NewBasis(th-1, px[:th-1])
			if got, _, _ := b.Recover(py[:th-1], nil); bytes.Equal(got, secret) {
				t.Fatalf("t-1 = %d shares recovered the secret", th-1)
			}
		}
	}
}

func TestSplitRefusesBadArguments(t *testing.T) {
	s := make([]byte, 32)
	for _, c := range []struct {
		secret []byte
		t      int
		xs     []uint32
	}{
		{s[:15], 2, points(3)}, {nil, 2, points(3)}, {s, 0, points(3)}, {s, 4, points(3)},
		{s, 2, []uint32{1, 0, 2}}, {s, 2, []uint32{1, 2, 1}},
	} {
		if _, err := Split(c.secret, c.t, c.xs, crand.Reader); err == nil {
			t.Errorf("Split(%d bytes, t=%d, %v) accepted", len(c.secret), c.t, c.xs)
		}
	}
	if _, err := NewBasis(3, points(2)); !errors.Is(err, ErrTooFew) {
		t.Errorf("NewBasis with 2 points for t = 3: %v", err)
	}
}

// corrupt flips bits of shares at the given indices, in one block only, the subtlest lie.
func corrupt(shares [][]byte, at []int, r *rand.Rand) [][]byte {
	out := make([][]byte, len(shares))
	for i := range shares {
		out[i] = slices.Clone(shares[i])
	}
	for _, i := range at {
		out[i][r.IntN(len(out[i]))] ^= byte(1 + r.IntN(255))
	}
	return out
}

// TestRecoverFindsLiars plays malicious share holders: up to (m-t)/2 wrong shares are
// found and named by decoding alone; more are found with a check of the secret; and
// where too many lie to decide, recovery refuses instead of returning a wrong secret.
func TestRecoverFindsLiars(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	secret := make([]byte, 32)
	crand.Read(secret)
	verify := func(s []byte) bool { return bytes.Equal(s, secret) }
	for trial := 0; trial < 30; trial++ {
		m := 3 + r.IntN(14)
		th := 1 + r.IntN(m-1)
		xs := points(m)
		shares, _ := Split(secret, th, xs, crand.Reader)
		b, _ := NewBasis(th, xs)
		e := (m - th) / 2
		if e > 0 {
			liars := r.Perm(m)[:1+r.IntN(e)]
			slices.Sort(liars)
			got, bad, err := b.Recover(corrupt(shares, liars, r), nil)
			if err != nil || !bytes.Equal(got, secret) || !slices.Equal(bad, liars) {
				t.Fatalf("m=%d t=%d liars %v: bad %v err %v", m, th, liars, bad, err)
			}
		}
		// One more liar than decoding corrects, up to m-t: found by the check.
		if m-th > e {
			liars := r.Perm(m)[:min(e+1, m-th)]
			slices.Sort(liars)
			got, bad, err := b.Recover(corrupt(shares, liars, r), verify)
			if err != nil || !bytes.Equal(got, secret) || !slices.Equal(bad, liars) {
				t.Fatalf("m=%d t=%d liars %v with a check: bad %v err %v", m, th, liars, bad, err)
			}
			// Without the check it must not return a wrong secret as right.
			if got, _, err := b.Recover(corrupt(shares, liars, r), nil); err == nil && !bytes.Equal(got, secret) {
				t.Fatalf("m=%d t=%d liars %v: a wrong secret returned as recovered", m, th, liars)
			}
		}
		// m-t+1 liars leave fewer than t honest shares: refused.
		liars := r.Perm(m)[:m-th+1]
		if _, _, err := b.Recover(corrupt(shares, liars, r), verify); !errors.Is(err, ErrTooFew) {
			t.Fatalf("m=%d t=%d with %d liars: %v, want ErrTooFew", m, th, len(liars), err)
		}
	}
}

// BenchmarkMul is one field product (constant-time, no table indexed by secret bits);
// recovery needs a few hundred of them per secret.
func BenchmarkMul(b *testing.B) {
	x, y := element{0x0123456789abcdef, 0xfedcba9876543210}, element{0x1111, 0x2222}
	for b.Loop() {
		x = x.mul(y)
	}
	_ = x
}

// FuzzRecover gives recovery shares off any polynomial: it must return a secret whose
// shares it vouches for, or ErrTooFew, and never panic.
func FuzzRecover(f *testing.F) {
	f.Add(uint8(3), uint8(5), []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"))
	f.Fuzz(func(t *testing.T, th, m uint8, data []byte) {
		n, k := int(m%12)+1, int(th%12)+1
		if k > n || len(data) < n*BlockSize {
			return
		}
		b, err := NewBasis(k, points(n))
		if err != nil {
			t.Fatal(err)
		}
		ys := make([][]byte, n)
		for i := range ys {
			ys[i] = data[i*BlockSize : (i+1)*BlockSize]
		}
		secret, bad, err := b.Recover(ys, nil)
		if err != nil {
			if !errors.Is(err, ErrTooFew) {
				t.Fatal(err)
			}
			return
		}
		if len(secret) != BlockSize || len(bad) > (n-k)/2 {
			t.Fatalf("secret of %d bytes with %d bad of %d shares at t = %d", len(secret), len(bad), n, k)
		}
	})
}
