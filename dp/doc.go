// Package dp holds the differential-privacy side of the engine: noise that is exact on
// its grid, calibration of noise to a privacy target, and the accounting of privacy
// spent across rounds.
//
// # Noise
//
// Textbook floating-point noise leaks its input: the set of floats x + noise can be
// depends on x (Mironov 2012, the low bits), and a float sampler reaches only part of any
// fine grid, a part that moves with x (Jin et al. 2022, precision attacks; math/rand's
// ziggurat rounded to σ·2^-40 reached about a fifth of the grid near 0). AddGaussian and
// AddLaplace close both:
//
//   - Support. The grid is g = the smallest power of two at least σ·2^-40 (Granularity).
//     Each coordinate becomes g·(round(x/g) + K) for an integer K, the float64 sum is
//     exact or correctly rounded (so a function of the integer round(x/g) + K alone),
//     and its rounding to float32 is post-processing. Whatever x was, the output lies on
//     gℤ, and every grid point within the tails is reachable.
//   - K is drawn exactly. The discrete Gaussian N_ℤ(0, s²), P(k) ∝ exp(−k²/(2s²))
//     (Canonne, Kamath and Steinke 2020), or the discrete Laplace P(k) ∝ exp(−|k|/s),
//     with s = σ/g in (2^39, 2^40], by rejection from a piecewise-uniform proposal: ℤ is cut
//     into blocks of width a power of two (at most s/64), a block is proposed with an
//     integer weight through an alias table built in integer arithmetic, a point in it
//     uniformly, and the point is accepted with probability exp(−φ(k))·T/Q, where T and Q
//     are exact rationals. Floating point decides that acceptance only where its proven
//     error (2^-44 relative) is beaten 2^8 times over by the margin (fastMargin); the rest,
//     about one draw in 2^35, is decided by bounds computed with directed rounding at
//     whatever precision the uniform's further bits require. So the output has exactly
//     the distribution, conditioned on the tails, with no float sampler on the path.
//   - Tails. The Gaussian is cut beyond 12s and the Laplace beyond 72s, where less than
//     2^-100 of the mass lies (TailMass): per value, the total variation distance to the
//     exact mechanism. The Ledger adds TailMass per released value to δ.
//   - Rounding x to the grid moves each coordinate by at most g/2, so neighbouring inputs
//     end at most g·√d further apart in L2 (GridSensitivity; g·d in L1), at most
//     2^-39·σ·√d. GaussianNoiseSigma charges it to the sensitivity: σ = z·Δ/(1 − z·√d·2^-39),
//     a relative 2^-26 more noise at z = 1 and d = 10^8 — what DPMean and the engine add.
//   - Randomness. Each call takes a fresh AES-256 key from crypto/rand (SecureSource) or,
//     for replay, SHA-256 of a seed and a call counter (InsecureSeededSource); chunks of
//     2^16 values read their own AES-CTR counter range, so the noise is the same at every
//     GOMAXPROCS and no two chunks or calls share keystream.
//   - Timing. The draws do not depend on x, and x only passes through a fixed sequence
//     of float64 operations with no branch on it (a division by a power of two, a
//     rounding, a multiply, an add and a conversion, none of them subnormal in float64).
//     The sampler's loop runs as often as its rejections need, a function of the noise
//     alone.
//
// The same samplers draw integers directly (DiscreteGaussian, DiscreteLaplace) for
// mechanisms that work on ℤ, such as distributed DP inside secure aggregation, and so
// does one for the Poisson distribution (Poisson, and Skellam as the difference of two),
// whose φ(k) = log(p(mode)/p(k)) is estimated after Loader (2000) within 2^-39 and
// bounded exactly from the factorials (their exact ratio near the mode, Stirling's
// series with its remainder's sign far from 0, logarithms by atanh series) where that
// estimate cannot decide.
//
// # Accounting
//
// Accounting follows the Rényi DP (RDP) analysis of the Poisson-subsampled Gaussian
// mechanism (Mironov, Talwar and Zhang 2019), as TensorFlow Privacy, Opacus and
// dp_accounting do: per round, ε_α = log A_α / (α−1) at each order α, summed over rounds,
// then converted to (ε, δ). Two conversions are offered because published figures use
// the first and current libraries the second:
//
//   - Classic (Mironov 2017, Prop. 3): ε = min_α R(α) − ln δ/(α−1). TensorFlow Privacy's
//     "ε = 3.01" for MNIST (q = 256/60000, z = 1.1, 60 epochs) is this one.
//   - Improved (Balle et al. 2020, Thm. 21; Opacus and dp_accounting today):
//     ε = min_α R(α) + ln((α−1)/α) − (ln δ + ln α)/(α−1), never larger than the classic.
//
// Integer orders sum A_α − 1 (positive terms only, so tiny rates with huge noise stay
// positive); fractional orders use the two-sided series of Mironov et al. with each
// term added or subtracted by the sign of its generalised binomial coefficient (as
// Opacus and TensorFlow Privacy compute it; dp_accounting adds absolute values, a looser
// bound), cut relative to its sum, and held within what the neighbouring integer orders
// allow. Values are non-decreasing in α. DefaultOrders reach from 1.01 to 4096, so that
// small ε (0.1 at δ = 1e-5 needs orders past 116) costs no more noise than it must.
//
// Calibration gives the Gaussian σ for a target (ε, δ) by the analytic Gaussian
// mechanism (Balle and Wang 2018), which is tight, or by the classic bound
// σ = Δ·√(2 ln(1.25/δ))/ε, which is only valid for ε < 1 and under-noises beyond; and the
// Laplace scale Δ₁/ε.
package dp
