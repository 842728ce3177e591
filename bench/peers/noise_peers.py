"""numpy's Gaussian noise for 10^7 coordinates, the peer of BenchmarkGaussianNoise.

numpy draws from PCG64 (Generator) or MT19937 (the legacy np.random), neither a
cryptographic generator, in float64 by a ziggurat: what users of Flower's and Opacus's
DP add today. Run with Debian's python3: /usr/bin/python3 bench/peers/noise_peers.py [repeats]
"""
import sys
import time

import numpy as np

D = 10_000_000


def best(f, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times), sorted(times)[len(times) // 2]


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    x = np.zeros(D, dtype=np.float32)
    rng = np.random.default_rng()
    peers = {
        "Generator.normal (float64)": lambda: rng.normal(0.0, 1.5, size=D),
        "Generator.standard_normal float32, added to x": lambda: np.add(
            x, 1.5 * rng.standard_normal(D, dtype=np.float32), out=x),
        "np.random.normal (legacy MT19937)": lambda: np.random.normal(0.0, 1.5, size=D),
        "Generator.laplace (float64)": lambda: rng.laplace(0.0, 1.5, size=D),
    }
    for name, f in peers.items():
        lo, med = best(f, repeats)
        print(f"{name:48s} best {D / lo / 1e6:7.1f} M samples/s, median {D / med / 1e6:7.1f}")


if __name__ == "__main__":
    main()
