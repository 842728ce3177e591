// Package dp holds the differential-privacy side of the engine: calibration of noise to
// a privacy target, and the accounting of privacy spent across rounds.
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
// For fractional orders A_α is the two-sided series of Mironov et al. with each term
// added or subtracted by the sign of its generalised binomial coefficient (as Opacus and
// TensorFlow Privacy compute it; dp_accounting adds absolute values, a looser bound).
//
// Calibration gives the Gaussian σ for a target (ε, δ) by the analytic Gaussian
// mechanism (Balle and Wang 2018), which is tight, or by the classic bound
// σ = Δ·√(2 ln(1.25/δ))/ε, which is only valid for ε < 1 and under-noises beyond; and the
// Laplace scale Δ₁/ε.
package dp
