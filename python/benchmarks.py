"""Times the Python path on the standard n100_d1m round, beside numpy/scipy on the same
array, to set against `go test -bench` of the direct Go calls (make pybench runs both).

    PYTHONPATH=python python3 python/benchmarks.py [repeats]
"""

import sys
import time

import numpy as np

import secagg


def best_and_median(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), float(np.median(times))


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    n, d = 100, 1_000_000
    x = np.random.default_rng(1).standard_normal((n, d), dtype=np.float32)
    out = np.empty(d, dtype=np.float32)
    cases = [
        ("secagg.mean", lambda: secagg.mean(x, out=out), repeats),
        ("secagg.mean (new out)", lambda: secagg.mean(x), repeats),
        ("secagg.trimmed_mean 0.1", lambda: secagg.trimmed_mean(x, 0.1, out=out), repeats),
        ("secagg.trimmed_mean 0.2", lambda: secagg.trimmed_mean(x, 0.2, out=out), repeats),
        ("secagg.median", lambda: secagg.median(x, out=out), repeats),
        ("secagg.krum f=10", lambda: secagg.krum(x, 10), max(3, repeats // 5)),
        ("numpy mean", lambda: x.mean(axis=0), repeats),
        ("numpy median", lambda: np.median(x, axis=0), 3),
    ]
    try:
        from scipy.stats import trim_mean
        cases.append(("scipy trim_mean 0.1", lambda: trim_mean(x, 0.1, axis=0), 3))
    except ImportError:
        pass
    # The fixed cost of one call through Python (conversions, ctypes, the error buffer),
    # on a round too small to take any time: the overhead the big rounds below carry.
    tiny, tiny_out, calls = np.ones((1, 16), dtype=np.float32), np.empty(16, dtype=np.float32), 20_000
    start = time.perf_counter()
    for _ in range(calls):
        secagg.mean(tiny, out=tiny_out)
    per_call = (time.perf_counter() - start) / calls
    print(f"one Python call on a 1 x 16 round: {per_call * 1e6:.1f} us")
    print(f"n100_d1m from Python, secagg {secagg.version()} on {secagg.kernels()['path']}")
    print(f"{'call':26s} {'best ms':>9s} {'median ms':>10s} {'GB/s':>7s}")
    for name, fn, reps in cases:
        best, med = best_and_median(fn, reps)
        print(f"{name:26s} {best * 1e3:9.2f} {med * 1e3:10.2f} {x.nbytes / best / 1e9:7.2f}")


if __name__ == "__main__":
    main()
