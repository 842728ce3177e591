// Package shamir shares secrets among clients by Shamir's scheme over GF(2^128), in the
// encoding pycryptodome's Shamir uses (and Flower's SecAgg+ with it): a secret is a whole
// number of 16-byte blocks, each the constant term of a random polynomial of its own of
// degree t-1, and a share is the polynomials' values at one nonzero point x.
//
// Recovery checks what it is given: shares beyond the t needed must lie on the same
// polynomials, and where they do not, the shares off them are found (by Berlekamp-Welch
// decoding, or by trying which to leave out against a caller's check of the secret) and
// reported, so that a protocol can name the clients that sent them.
package shamir

import (
	"errors"
	"fmt"
	"io"
)

// BlockSize is the length of one field element, and a secret's length is a multiple of it.
const BlockSize = 16

// Split returns one share of secret for each point of xs, any t of which recover it:
// shares[i] holds, for each 16-byte block of secret, its polynomial's value at xs[i]
// (same length as secret). The points must be distinct and nonzero; 1 <= t <= len(xs).
// The coefficients come from rand (crypto/rand.Reader outside tests).
func Split(secret []byte, t int, xs []uint32, rand io.Reader) ([][]byte, error) {
	if len(secret) == 0 || len(secret)%BlockSize != 0 {
		return nil, fmt.Errorf("shamir: a secret is a positive multiple of %d bytes, got %d", BlockSize, len(secret))
	}
	if err := checkPoints(xs); err != nil {
		return nil, err
	}
	if t < 1 || t > len(xs) {
		return nil, fmt.Errorf("shamir: threshold must be in [1, %d], got %d", len(xs), t)
	}
	shares := make([][]byte, len(xs))
	for i := range shares {
		shares[i] = make([]byte, len(secret))
	}
	coeffs := make([]element, t)
	random := make([]byte, (t-1)*BlockSize)
	for off := 0; off < len(secret); off += BlockSize {
		if _, err := io.ReadFull(rand, random); err != nil {
			return nil, fmt.Errorf("shamir: reading randomness: %w", err)
		}
		coeffs[0] = decode(secret[off:])
		for j := 1; j < t; j++ {
			coeffs[j] = decode(random[(j-1)*BlockSize:])
		}
		for i, x := range xs {
			evaluate(coeffs, fromUint(x)).put(shares[i][off:])
		}
	}
	return shares, nil
}

// evaluate is the polynomial with coefficients c (c[0] the constant) at x, by Horner.
func evaluate(c []element, x element) element {
	var r element
	for j := len(c) - 1; j >= 0; j-- {
		r = r.mul(x).add(c[j])
	}
	return r
}

func checkPoints(xs []uint32) error {
	seen := make(map[uint32]bool, len(xs))
	for _, x := range xs {
		if x == 0 {
			return errors.New("shamir: a share's point must be nonzero")
		}
		if seen[x] {
			return fmt.Errorf("shamir: two shares at the point %d", x)
		}
		seen[x] = true
	}
	return nil
}

// ErrTooFew is returned when fewer shares than the threshold are given, or too few of
// them agree to decide the secret.
var ErrTooFew = errors.New("shamir: too few consistent shares to recover the secret")

// Basis is what recovery at one set of points needs, computed once for every secret
// shared at those points (in a protocol round most secrets are): the Lagrange weights at
// 0 of the first t points, and for each further point the weights that predict its
// share from the first t.
type Basis struct {
	t      int
	xs     []element
	points []uint32
	zero   []element   // P(0) = Σ zero[i]·y[i], i < t
	check  [][]element // P(xs[t+j]) = Σ check[j][i]·y[i], i < t
}

// NewBasis prepares recovery with threshold t from shares at the points xs (distinct,
// nonzero, at least t of them).
func NewBasis(t int, xs []uint32) (*Basis, error) {
	if err := checkPoints(xs); err != nil {
		return nil, err
	}
	if t < 1 {
		return nil, fmt.Errorf("shamir: threshold must be >= 1, got %d", t)
	}
	if len(xs) < t {
		return nil, ErrTooFew
	}
	b := &Basis{t: t, points: append([]uint32(nil), xs...), xs: make([]element, len(xs))}
	for i, x := range xs {
		b.xs[i] = fromUint(x)
	}
	first := newInterpolator(b.xs[:t])
	b.zero = first.at(element{})
	for _, z := range b.xs[t:] {
		b.check = append(b.check, first.at(z))
	}
	return b, nil
}

// interpolator finds Lagrange weights: those at z give P(z) = Σ w[i]·P(xs[i]) for every
// polynomial of degree < len(xs), w[i] = Π_{j≠i} (z - x_j) / (x_i - x_j). It holds what
// the weights at every z share: the inverses of the
// denominators Π_{j≠i} (x_i - x_j), found with one field inversion for all of them
// (Montgomery's trick), so that the weights at each further point cost 3·len(xs)
// products.
type interpolator struct {
	xs, invDen []element
}

func newInterpolator(xs []element) interpolator {
	den := make([]element, len(xs))
	for i := range xs {
		d := element{lo: 1}
		for j := range xs {
			if j != i {
				d = d.mul(xs[i].add(xs[j]))
			}
		}
		den[i] = d
	}
	return interpolator{xs, invertAll(den)}
}

// at is the weights at z: the numerators Π_{j≠i} (z - x_j) from prefix and suffix
// products of the factors (z - x_j).
func (p interpolator) at(z element) []element {
	n := len(p.xs)
	w := make([]element, n)
	acc := element{lo: 1}
	for i, x := range p.xs { // w[i] = Π_{j<i} (z - x_j) for now
		w[i] = acc
		acc = acc.mul(z.add(x))
	}
	acc = element{lo: 1}
	for i := n - 1; i >= 0; i-- {
		w[i] = w[i].mul(acc).mul(p.invDen[i])
		acc = acc.mul(z.add(p.xs[i]))
	}
	return w
}

// invertAll inverts every element of a (all nonzero) with one inversion.
func invertAll(a []element) []element {
	prefix := make([]element, len(a))
	acc := element{lo: 1}
	for i, v := range a {
		prefix[i] = acc
		acc = acc.mul(v)
	}
	inv := acc.inv()
	out := make([]element, len(a))
	for i := len(a) - 1; i >= 0; i-- {
		out[i] = inv.mul(prefix[i])
		inv = inv.mul(a[i])
	}
	return out
}

// Recover returns the secret that ys (one share per point of the basis, equal lengths,
// a multiple of 16 bytes) were split from, and the indices of the shares that are not
// on its polynomials. When every share agrees the secret is interpolated directly. When
// they disagree, it decodes: Berlekamp-Welch finds the polynomials through all but
// (len(ys)-t)/2 of them; failing that, and given verify (a check of a candidate secret,
// e.g. that a private key matches its public key), it tries leaving shares out, fewest
// first, until a secret verifies. A secret that verify refuses, or shares too
// inconsistent to decide, are ErrTooFew. verify may be nil.
func (b *Basis) Recover(ys [][]byte, verify func([]byte) bool) (secret []byte, bad []int, err error) {
	if len(ys) != len(b.xs) {
		return nil, nil, fmt.Errorf("shamir: %d shares for a basis of %d points", len(ys), len(b.xs))
	}
	size := len(ys[0])
	for _, y := range ys {
		if len(y) != size || size == 0 || size%BlockSize != 0 {
			return nil, nil, fmt.Errorf("shamir: shares must be equal positive multiples of %d bytes", BlockSize)
		}
	}
	if secret, ok := b.direct(ys); ok {
		if verify == nil || verify(secret) {
			return secret, nil, nil
		}
		return nil, nil, ErrTooFew // all on one polynomial: every t of them give this secret
	}
	if secret, bad, ok := b.decode(ys); ok && (verify == nil || verify(secret)) {
		return secret, bad, nil
	}
	if verify != nil {
		if secret, bad, ok := b.search(ys, verify); ok {
			return secret, bad, nil
		}
	}
	return nil, nil, ErrTooFew
}

// direct interpolates from the first t shares and reports whether every other share
// lies on the same polynomials.
func (b *Basis) direct(ys [][]byte) ([]byte, bool) {
	secret := make([]byte, len(ys[0]))
	agree := true
	for off := 0; off < len(secret); off += BlockSize {
		y := make([]element, len(ys))
		for i := range ys {
			y[i] = decode(ys[i][off:])
		}
		dot(b.zero, y).put(secret[off:])
		for j, w := range b.check {
			if dot(w, y) != y[b.t+j] {
				agree = false
			}
		}
	}
	return secret, agree
}

func dot(w, y []element) element {
	var r element
	for i, v := range w {
		r = r.add(v.mul(y[i]))
	}
	return r
}

// decode is Berlekamp-Welch on each block: with m shares and e = (m-t)/2, it solves
// Q(x_i) = y_i·E(x_i) for E monic of degree e and Q of degree < t+e, and P = Q/E is the
// block's polynomial if at most e shares are wrong. bad is the union over the blocks of
// the shares off P; it reports false when any block cannot be decoded.
func (b *Basis) decode(ys [][]byte) ([]byte, []int, bool) {
	m, t := len(ys), b.t
	e := (m - t) / 2
	if e == 0 {
		return nil, nil, false
	}
	secret := make([]byte, len(ys[0]))
	wrong := make([]bool, m)
	for off := 0; off < len(secret); off += BlockSize {
		y := make([]element, m)
		for i := range ys {
			y[i] = decode(ys[i][off:])
		}
		p, ok := welch(b.xs, y, t, e)
		if !ok {
			return nil, nil, false
		}
		errs := 0
		for i, x := range b.xs {
			if evaluate(p, x) != y[i] {
				wrong[i] = true
				errs++
			}
		}
		if errs > e {
			return nil, nil, false
		}
		p[0].put(secret[off:])
	}
	return secret, indices(wrong), true
}

func indices(flags []bool) []int {
	var out []int
	for i, f := range flags {
		if f {
			out = append(out, i)
		}
	}
	return out
}

// welch solves the Berlekamp-Welch system for one block and returns P's t coefficients.
// Unknowns: q_0..q_{t+e-1}, then ε_0..ε_{e-1} (E = x^e + Σ ε_j x^j); equation i is
// Σ q_j x_i^j + y_i Σ ε_j x_i^j = y_i x_i^e (addition is subtraction in GF(2^128)).
func welch(xs, y []element, t, e int) ([]element, bool) {
	m, nq := len(xs), t+e
	cols := nq + e
	a := make([][]element, m)
	for i, x := range xs {
		row := make([]element, cols+1)
		pow := element{lo: 1}
		for j := 0; j < nq; j++ {
			row[j] = pow
			if j < e {
				row[nq+j] = y[i].mul(pow)
			}
			if j == e {
				row[cols] = y[i].mul(pow)
			}
			pow = pow.mul(x)
		}
		a[i] = row
	}
	sol, ok := solve(a, cols)
	if !ok {
		return nil, false
	}
	q := sol[:nq]
	ecoef := append(append([]element(nil), sol[nq:]...), element{lo: 1})
	p, rem := divide(q, ecoef)
	for _, r := range rem {
		if !r.isZero() {
			return nil, false
		}
	}
	return p[:t], len(p) >= t
}

// solve returns one solution of the linear system a (rows of cols coefficients and the
// right-hand side), free unknowns set to zero, or false when it has none.
func solve(a [][]element, cols int) ([]element, bool) {
	pivots := make([]int, 0, cols)
	r := 0
	for c := 0; c < cols && r < len(a); c++ {
		p := -1
		for i := r; i < len(a); i++ {
			if !a[i][c].isZero() {
				p = i
				break
			}
		}
		if p < 0 {
			continue
		}
		a[r], a[p] = a[p], a[r]
		inv := a[r][c].inv()
		for j := c; j <= cols; j++ {
			a[r][j] = a[r][j].mul(inv)
		}
		for i := range a {
			if i != r && !a[i][c].isZero() {
				f := a[i][c]
				for j := c; j <= cols; j++ {
					a[i][j] = a[i][j].add(f.mul(a[r][j]))
				}
			}
		}
		pivots = append(pivots, c)
		r++
	}
	for i := r; i < len(a); i++ {
		if !a[i][cols].isZero() {
			return nil, false // inconsistent
		}
	}
	sol := make([]element, cols)
	for i, c := range pivots {
		sol[c] = a[i][cols]
	}
	return sol, true
}

// divide is polynomial division n = d·q + r for d monic.
func divide(n, d []element) (q, r []element) {
	r = append([]element(nil), n...)
	if len(r) < len(d) {
		return nil, r
	}
	q = make([]element, len(r)-len(d)+1)
	for i := len(q) - 1; i >= 0; i-- {
		c := r[i+len(d)-1]
		q[i] = c
		for j, dj := range d {
			r[i+j] = r[i+j].add(c.mul(dj))
		}
	}
	return q, r[:len(d)-1]
}

// searchBudget bounds the subsets search tries: beyond it a round reports the shares as
// too inconsistent rather than spend minutes on one secret.
const searchBudget = 1 << 12

// search leaves out shares, fewest first, and interpolates the first t of those left
// until verify accepts the secret; bad are then the shares off its polynomials.
func (b *Basis) search(ys [][]byte, verify func([]byte) bool) ([]byte, []int, bool) {
	m, t := len(ys), b.t
	tried := 0
	for drop := 1; drop <= m-t; drop++ {
		out := make([]int, drop)
		for i := range out {
			out[i] = i
		}
		for {
			if tried++; tried > searchBudget {
				return nil, nil, false
			}
			if secret, bad, ok := b.tryWithout(ys, out, verify); ok {
				return secret, bad, true
			}
			if !nextCombination(out, m) {
				break
			}
		}
	}
	return nil, nil, false
}

// nextCombination steps c (ascending indices below n) to the next combination in
// lexicographic order, reporting false after the last.
func nextCombination(c []int, n int) bool {
	k := len(c)
	for i := k - 1; i >= 0; i-- {
		if c[i] < n-k+i {
			c[i]++
			for j := i + 1; j < k; j++ {
				c[j] = c[j-1] + 1
			}
			return true
		}
	}
	return false
}

func (b *Basis) tryWithout(ys [][]byte, out []int, verify func([]byte) bool) ([]byte, []int, bool) {
	left := make([]int, 0, b.t)
	for i, o := 0, 0; i < len(ys) && len(left) < b.t; i++ {
		if o < len(out) && out[o] == i {
			o++
			continue
		}
		left = append(left, i)
	}
	xs := make([]element, len(left))
	for i, j := range left {
		xs[i] = b.xs[j]
	}
	blocks := make([][]element, len(ys[0])/BlockSize)
	secret := make([]byte, len(ys[0]))
	interp := newInterpolator(xs)
	zero := interp.at(element{})
	for k := range blocks {
		y := make([]element, len(left))
		for i, j := range left {
			y[i] = decode(ys[j][k*BlockSize:])
		}
		blocks[k] = y
		dot(zero, y).put(secret[k*BlockSize:])
	}
	if !verify(secret) {
		return nil, nil, false
	}
	wrong := make([]bool, len(ys))
	for j, x := range b.xs {
		w := interp.at(x)
		for k, y := range blocks {
			if dot(w, y) != decode(ys[j][k*BlockSize:]) {
				wrong[j] = true
			}
		}
	}
	return secret, indices(wrong), true
}

// Points returns the points of the basis, in order.
func (b *Basis) Points() []uint32 { return append([]uint32(nil), b.points...) }
