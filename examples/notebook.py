# %% [markdown]
# # Robust aggregation of a poisoned round
#
# A notebook in script form (the `# %%` cells open as a notebook in VS Code or with
# jupytext). Run it from the repository after `make lib`:
#
#     PYTHONPATH=python python3 examples/notebook.py          # 100 clients x 10^6
#     PYTHONPATH=python python3 examples/notebook.py --small  # a quick one
#
# 10% of the clients are Byzantine: half send huge values, half send an honest update
# with its sign flipped and scaled by 10. Each strategy is scored by its distance to the
# mean of the honest updates, relative to that mean's norm, beside numpy/scipy where
# they have the same rule.

# %%
import sys
import time

import numpy as np

import secagg

small = "--small" in sys.argv
n, d, f = (40, 20_000, 4) if small else (100, 1_000_000, 10)
rng = np.random.default_rng(7)
direction = rng.standard_normal(d).astype(np.float32)
updates = (direction + rng.standard_normal((n, d), dtype=np.float32)).astype(np.float32)
honest = updates[: n - f].copy()
updates[n - f :: 2] = 1000.0
updates[n - f + 1 :: 2] = -10 * honest[: len(updates[n - f + 1 :: 2])]
honest_mean = honest.astype(np.float64).mean(axis=0)
print(f"secagg {secagg.version()} on {secagg.kernels()['path']}; a round of {n} x {d}, {f} Byzantine")


# %%
def score(name, fn):
    """Runs fn twice, keeps the faster, and prints its distance to the honest mean."""
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    dist = np.linalg.norm(out - honest_mean) / np.linalg.norm(honest_mean)
    print(f"{name:34s} {dist:12.4f} {best * 1e3:10.1f} ms {updates.nbytes / best / 1e9:8.2f} GB/s")
    return out


print(f"{'strategy':34s} {'dist/|honest|':>12s} {'time':>13s} {'input rate':>13s}")
examples = rng.integers(10, 1000, n).astype(np.float64)
results = {
    "mean": score("secagg.mean", lambda: secagg.mean(updates)),
    "weighted_mean": score("secagg.weighted_mean", lambda: secagg.weighted_mean(updates, examples)),
    "trimmed_mean": score("secagg.trimmed_mean(0.1)", lambda: secagg.trimmed_mean(updates, 0.1)),
    "median": score("secagg.median", lambda: secagg.median(updates)),
    "krum": score(f"secagg.krum(f={f})", lambda: secagg.krum(updates, f)),
    "multi_krum": score(f"secagg.multi_krum(f={f}, m={n - f})", lambda: secagg.multi_krum(updates, f, n - f)),
    "bulyan": score(f"secagg.bulyan(f={f})", lambda: secagg.bulyan(updates, f)),
    "geometric_median": score("secagg.geometric_median", lambda: secagg.geometric_median(updates)),
    "centered_clipping": score("secagg.centered_clipping(tau, L=3)",
                               lambda: secagg.centered_clipping(updates, np.sqrt(d), iterations=3)),
    "norm_bounded_mean": score("secagg.norm_bounded_mean(C=1000)", lambda: secagg.norm_bounded_mean(updates, 1000.0)),
    "dp_mean": score("secagg.dp_mean(C=1000, z=1)", lambda: secagg.dp_mean(updates, 1000.0, 1.0)),
}

# %% [markdown]
# The same rules in numpy and scipy, on the same array: equal within float32 rounding.

# %%
peers = {"mean": lambda: updates.mean(axis=0), "median": lambda: np.median(updates, axis=0)}
try:
    from scipy.stats import trim_mean

    peers["trimmed_mean"] = lambda: trim_mean(updates, 0.1, axis=0)
except ImportError:
    print("(scipy is not installed: no trim_mean to compare with)")
for name, fn in peers.items():
    peer = score(f"numpy/scipy {name}", fn)
    np.testing.assert_allclose(results[name], peer, rtol=1e-5, atol=1e-5)

# %% [markdown]
# What the privacy of dp_mean costs over a training run: the epsilon of 1000 rounds
# sampling 1% of the clients, and the noise needed for epsilon 2.

# %%
eps = secagg.epsilon(noise_multiplier=1.0, sample_rate=0.01, rounds=1000, delta=1e-5)
z = secagg.noise_multiplier(target_epsilon=2.0, sample_rate=0.01, rounds=1000, delta=1e-5)
print(f"z=1.0, q=0.01, 1000 rounds: epsilon {eps:.3f} at delta 1e-5; epsilon 2 needs z={z:.3f}")

# %% [markdown]
# Errors carry the platform's fields, ready to return to a client as they are.

# %%
try:
    secagg.krum(updates[:5], f)
except secagg.InsufficientClientsError as e:
    print(e.to_dict())
