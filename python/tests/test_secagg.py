"""Tests of the Python package over libsecagg: make python runs them with Debian's numpy.

The Go results come from the `secagg aggregate` command ($SECAGG_CLI) on the same round,
so "equal to Go bit for bit" is checked against a second way into the engine.
"""

import ctypes
import os
import subprocess
import tempfile
import threading
import unittest

import numpy as np

import secagg
from secagg._lib import lib

try:
    import scipy.stats
except ImportError:  # make python installs it; a bare run says what it skipped
    scipy = None


def poisoned_round(n=40, d=3001, f=4, seed=5):
    """n updates near a shared direction, the last f of them poisoned."""
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(d).astype(np.float32)
    x = (g + rng.standard_normal((n, d))).astype(np.float32)
    x[n - f:] = 1000
    return x


def bits(a):
    return np.asarray(a, dtype=np.float32).view(np.uint32)


class AgainstGo(unittest.TestCase):
    """Each strategy equals the Go command's result bit for bit."""

    @classmethod
    def setUpClass(cls):
        cls.cli = os.environ.get("SECAGG_CLI")
        if not cls.cli:
            raise unittest.SkipTest("SECAGG_CLI is not set (make python sets it)")
        cls.dir = tempfile.TemporaryDirectory()
        cls.x = poisoned_round()
        cls.w = np.arange(1, len(cls.x) + 1, dtype=np.float32)
        cls.round = os.path.join(cls.dir.name, "round.npy")
        cls.weights = os.path.join(cls.dir.name, "w.npy")
        np.save(cls.round, cls.x)
        np.save(cls.weights, cls.w)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def go(self, *flags):
        out = os.path.join(self.dir.name, "out.npy")
        subprocess.run([self.cli, "aggregate", "--out", out, self.round, *flags], check=True,
                       capture_output=True)
        return np.load(out)

    def test_strategies(self):
        x, w = self.x, self.w
        cases = [
            (secagg.mean(x), ["--strategy", "mean"]),
            (secagg.weighted_mean(x, w), ["--strategy", "weighted_mean", "--weights", self.weights]),
            (secagg.trimmed_mean(x, 0.1), ["--strategy", "trimmed_mean", "--trim-ratio", "0.1"]),
            (secagg.median(x), ["--strategy", "median"]),
            (secagg.krum(x, 4), ["--strategy", "krum", "--byzantine-clients", "4"]),
            (secagg.multi_krum(x, 4, 10), ["--strategy", "krum", "--byzantine-clients", "4", "--multi-krum-m", "10"]),
            (secagg.bulyan(x, 4), ["--strategy", "bulyan", "--byzantine-clients", "4"]),
            (secagg.geometric_median(x, w), ["--strategy", "geometric_median", "--weights", self.weights]),
            (secagg.centered_clipping(x, 30.0, 3), ["--strategy", "centered_clipping",
                                                     "--centered-clipping-radius", "30",
                                                     "--centered-clipping-iterations", "3"]),
            (secagg.norm_bounded_mean(x, 50.0), ["--strategy", "norm_bounded_mean", "--clip-norm", "50"]),
            (secagg.dp_mean(x, 50.0, 1.1, seed=9), ["--strategy", "dp_mean", "--clip-norm", "50",
                                                     "--noise-multiplier", "1.1", "--seed", "9"]),
        ]
        for got, flags in cases:
            with self.subTest(flags=flags):
                self.assertEqual(got.dtype, np.float32)
                self.assertEqual(got.shape, (x.shape[1],))
                np.testing.assert_array_equal(bits(got), bits(self.go(*flags)))

    def test_aggregate_by_config(self):
        """secagg.aggregate with the engine's keys is the named function, bit for bit."""
        x, w = self.x, self.w
        cases = [
            (secagg.aggregate(x, "trimmed_mean", trim_ratio=0.1), secagg.trimmed_mean(x, 0.1)),
            (secagg.aggregate(x, "weighted_mean", weights=w), secagg.weighted_mean(x, w)),
            (secagg.aggregate(x, "krum", byzantine_clients=4, multi_krum_m=10), secagg.multi_krum(x, 4, 10)),
            (secagg.aggregate(x, "centered_clipping", centered_clipping_radius=30.0), secagg.centered_clipping(x, 30.0)),
            (secagg.aggregate(x, "dp_mean", clip_norm=50.0, noise_multiplier=1.1, seed=9),
             secagg.dp_mean(x, 50.0, 1.1, seed=9)),
        ]
        for got, want in cases:
            np.testing.assert_array_equal(bits(got), bits(want))
        _, info = secagg.aggregate(x, "bulyan", byzantine_clients=4, return_result=True)
        _, sel = secagg.bulyan(x, 4, return_selected=True)
        self.assertEqual(info["selected"], list(sel))
        self.assertEqual(info["clients"], len(x))
        _, info = secagg.aggregate(x, "norm_bounded_mean", clip_norm=5.0, return_result=True)
        self.assertEqual(len(info["norms"]), len(x))
        with self.assertRaises(secagg.ValidationError):
            secagg.aggregate(x, "fedprox")
        with self.assertRaises(secagg.InsufficientClientsError):
            secagg.aggregate(x, "mean", min_devices_per_round=100)
        with self.assertRaises(secagg.BadRequestError):
            secagg.aggregate(x, "mean", trim_ratio="a lot")

    def test_list_of_rows_is_the_block(self):
        rows = [np.array(r) for r in self.x]
        np.testing.assert_array_equal(bits(secagg.median(rows)), bits(secagg.median(self.x)))
        np.testing.assert_array_equal(bits(secagg.bulyan(rows, 4)), bits(secagg.bulyan(self.x, 4)))


class AgainstNumpy(unittest.TestCase):
    """Within float32 rounding of numpy and scipy, on data without ties."""

    def setUp(self):
        self.x = np.random.default_rng(11).standard_normal((31, 2000)).astype(np.float32)

    def test_mean(self):
        want = self.x.astype(np.float64).mean(axis=0).astype(np.float32)
        np.testing.assert_array_max_ulp(secagg.mean(self.x), want, maxulp=1)

    def test_weighted_mean(self):
        w = np.random.default_rng(2).uniform(1, 100, len(self.x))
        want = np.average(self.x.astype(np.float64), axis=0, weights=w).astype(np.float32)
        np.testing.assert_array_max_ulp(secagg.weighted_mean(self.x, w), want, maxulp=1)

    def test_median(self):
        want = np.median(self.x.astype(np.float64), axis=0).astype(np.float32)
        np.testing.assert_array_max_ulp(secagg.median(self.x), want, maxulp=1)
        np.testing.assert_array_max_ulp(secagg.median(self.x[:30]), np.median(self.x[:30], axis=0), maxulp=1)

    @unittest.skipIf(scipy is None, "scipy is not installed")
    def test_trimmed_mean(self):
        for ratio in (0.0, 0.1, 0.2, 0.49):
            want = scipy.stats.trim_mean(self.x.astype(np.float64), ratio, axis=0).astype(np.float32)
            np.testing.assert_array_max_ulp(secagg.trimmed_mean(self.x, ratio), want, maxulp=1)

    def test_krum_picks_an_honest_update(self):
        x = poisoned_round(n=20, d=100, f=3)
        out, chosen = secagg.krum(x, 3, return_selected=True)
        self.assertLess(chosen, 17)
        np.testing.assert_array_equal(out, x[chosen])
        out, sel = secagg.bulyan(x, 3, return_selected=True)
        self.assertEqual(len(sel), 14)  # n - 2f; identical attackers can be among them,
        self.assertLess(np.abs(out).max(), 10)  # but the coordinate phase trims them

    def test_centered_clipping_carries_its_center(self):
        x = poisoned_round(n=20, d=300, f=3)
        first = secagg.centered_clipping(x, 20.0)
        second = secagg.centered_clipping(x, 20.0, center=first)
        twice = secagg.centered_clipping(x, 20.0, iterations=2)
        np.testing.assert_array_equal(bits(second), bits(twice))
        self.assertLess(np.abs(twice).max(), 5)  # the +1000 clients pull by at most 20/20 per pass
        with self.assertRaises(secagg.BadRequestError):
            secagg.centered_clipping(x, 20.0, center=np.zeros(5))
        with self.assertRaises(secagg.ValidationError):
            secagg.centered_clipping(x, 0.0)

    def test_dp_mean_clips_and_noises(self):
        x = np.full((4, 100), 3.0, dtype=np.float32)  # norms 30
        out, norms = secagg.dp_mean(x, 3.0, 0.0, return_norms=True)
        np.testing.assert_allclose(norms, 30.0)
        np.testing.assert_allclose(out, 0.3, rtol=1e-6)
        a, b = secagg.dp_mean(x, 3.0, 1.0, seed=1), secagg.dp_mean(x, 3.0, 1.0, seed=1)
        np.testing.assert_array_equal(a, b)
        self.assertFalse(np.array_equal(secagg.dp_mean(x, 3.0, 1.0), secagg.dp_mean(x, 3.0, 1.0)))
        self.assertAlmostEqual(float(np.std(a - 0.3)), 0.75, delta=0.2)  # sigma = z*C/N

    def test_arguments_are_checked_not_wrapped(self):
        x = np.ones((5, 4), dtype=np.float32)
        for call, exc in [
            (lambda: secagg.krum(x, 2**64), secagg.ValidationError),     # ctypes wrapped it to 0
            (lambda: secagg.set_threads(2**70), secagg.ValidationError),
            (lambda: secagg.dp_mean(x, None, 1.0), secagg.ValidationError),  # a bare TypeError before
            (lambda: secagg.dp_mean(x, 1.0, None), secagg.ValidationError),
            (lambda: secagg.krum(x, 1.5), secagg.BadRequestError),
            (lambda: secagg.trimmed_mean(x, "a lot"), secagg.BadRequestError),
            (lambda: secagg.aggregate(x, "trimmed_mean", trim_ratio=None), secagg.BadRequestError),
            (lambda: secagg.aggregate(x, "trimmed_mean", trim_ratio=object()), secagg.BadRequestError),
        ]:
            with self.assertRaises(exc):
                call()
        # numpy scalars in a configuration are numbers
        np.testing.assert_array_equal(secagg.aggregate(x, "trimmed_mean", trim_ratio=np.float32(0.2)),
                                      secagg.trimmed_mean(x, 0.2))
        self.assertEqual(secagg.krum(x, np.int64(1)).shape, (4,))
        # an error message longer than any buffer still arrives typed, shortened
        with self.assertRaises(secagg.ValidationError) as ctx:
            secagg.aggregate(x, "s" * 40000)
        self.assertEqual(ctx.exception.status_code, 422)
        self.assertTrue(ctx.exception.message.endswith("…"))

    def test_one_update_dp_mean_result(self):
        # The round's result (norms, noise sigma) fits the wrapper's buffer even for one update.
        x = np.ones((1, 8), dtype=np.float32)
        out, info = secagg.aggregate(x, "dp_mean", clip_norm=1.0, noise_multiplier=1.0, seed=1, return_result=True)
        self.assertEqual(info["clients"], 1)
        self.assertEqual(len(info["norms"]), 1)
        self.assertEqual(out.shape, (8,))

    def test_privacy(self):
        # TF Privacy's tutorial: z 1.1, q 256/60000, 60 epochs -> epsilon 3.01 (classic).
        eps = secagg.epsilon(1.1, 256 / 60000, 14062, 1e-5, conversion="classic")
        self.assertAlmostEqual(eps, 3.0083, places=3)
        z = secagg.noise_multiplier(eps, 256 / 60000, 14062, 1e-5, conversion="classic")
        self.assertAlmostEqual(z, 1.1, places=2)

    def test_converts_dtypes_and_layouts(self):
        x64 = self.x.astype(np.float64)
        np.testing.assert_array_equal(secagg.median(x64), secagg.median(self.x))
        fortran = np.asfortranarray(self.x)
        np.testing.assert_array_equal(secagg.mean(fortran), secagg.mean(self.x))
        strided = np.repeat(self.x, 2, axis=1)[:, ::2]
        np.testing.assert_array_equal(secagg.mean(strided), secagg.mean(self.x))
        np.testing.assert_array_equal(secagg.mean(self.x.astype(np.int32)), secagg.mean(self.x.astype(np.int32).astype(np.float32)))

    def test_out(self):
        out = np.full(self.x.shape[1], 7, dtype=np.float32)
        self.assertIs(secagg.median(self.x, out=out), out)
        np.testing.assert_array_equal(out, secagg.median(self.x))
        for bad in (np.empty(5, np.float32), np.empty(self.x.shape[1], np.float64),
                    np.empty(2 * self.x.shape[1], np.float32)[::2], [0.0] * self.x.shape[1]):
            with self.assertRaises(secagg.BadRequestError):
                secagg.mean(self.x, out=bad)
        out[:] = 7
        with self.assertRaises(secagg.ValidationError):
            secagg.mean(np.full_like(self.x, np.nan), out=out)
        np.testing.assert_array_equal(out, 7)  # a rejected call writes nothing

    def test_info(self):
        self.assertRegex(secagg.version(), r"^\d+\.\d+\.\d+")
        k = secagg.kernels()
        self.assertIn(k["path"], k["supported"])
        self.assertIn("addRows", [kernel["primitive"] for kernel in k["kernels"]])
        previous = secagg.set_threads(1)
        try:
            self.assertEqual(secagg.kernels()["workers"], 1)
            one = secagg.median(self.x)
        finally:
            secagg.set_threads(previous)
        np.testing.assert_array_equal(one, secagg.median(self.x))


class SecureRound(unittest.TestCase):
    """secure_simulate: a secure round's unmasked mean against numpy's weighted mean."""

    def test_secure_mean_within_quantisation(self):
        rng = np.random.default_rng(11)
        x = rng.standard_normal((30, 2000)).astype(np.float32)
        w = rng.uniform(1, 100, 30)
        drops = ["none"] * 30
        drops[3], drops[7], drops[11] = "setup", "collect_masked_vectors", "unmask"
        got, info = secagg.secure_simulate(x, w, drops=drops, seed=4, return_result=True,
                                           shares=9, max_weight=100)
        active = [i - 1 for i in info["active"]]
        self.assertEqual(len(active), 28)  # 3 excluded, 7 dropped; 11 is still summed
        self.assertEqual(info["dropped"], [8])
        want = np.average(x[active].astype(np.float64), axis=0, weights=w[active])
        step = 2 * 8.0 / 65536
        self.assertLess(np.max(np.abs(got - want)), 2 * step)
        again = secagg.secure_simulate(x, w, drops=drops, seed=4, shares=9, max_weight=100)
        np.testing.assert_array_equal(bits(got), bits(again))

    def test_secure_refusals(self):
        x = np.ones((5, 10), dtype=np.float32)
        with self.assertRaises(secagg.BadRequestError):
            secagg.secure_simulate(x, shares=3, clip=1)  # no such setting
        with self.assertRaises(secagg.ValidationError):
            secagg.secure_simulate(x, shares=4)  # even k below n
        with self.assertRaises(secagg.ValidationError):
            secagg.secure_simulate(x, drops=["setup", "lunch", "none", "none", "none"])
        with self.assertRaises(secagg.ValidationError):
            secagg.secure_simulate(x, quantization_range=2**31)  # 5 clients overflow 2^32


class DistributedDP(unittest.TestCase):
    """ddp_simulate: a distributed-DP round's decoded mean against numpy's mean, its noise
    as calibrated, its refusals."""

    def test_ddp_mean_within_its_noise(self):
        rng = np.random.default_rng(12)
        x = (rng.standard_normal((40, 4096)) * 0.01).astype(np.float32)
        drops = ["none"] * 40
        drops[5], drops[9] = "share_keys", "collect_masked_vectors"
        cfg = dict(clip_norm=1, bits=20, epsilon=4, delta=1e-5, rounds=1, min_devices_per_round=35, shares=15)
        got, info = secagg.ddp_simulate(x, drops=drops, seed=3, return_result=True, **cfg)
        active = [i - 1 for i in info["active"]]
        self.assertEqual(len(active), 38)
        want = x[active].astype(np.float64).mean(axis=0)
        mse = np.mean((got - want) ** 2)
        noise = info["stddev"] ** 2 / len(active)  # the mean's noise variance
        self.assertLess(abs(mse / noise - 1), 0.15)
        self.assertLessEqual(info["epsilon"], 4.0)  # 38 survivors: more noise than 35
        again = secagg.ddp_simulate(x, drops=drops, seed=3, **cfg)
        np.testing.assert_array_equal(bits(got), bits(again))

    def test_ddp_client_by_client(self):
        """ddp_plan, a ddp_encode per client, a numpy sum, ddp_decode: ddp_simulate's
        round bit for bit, and without noise the clients' mean within the rounding."""
        rng = np.random.default_rng(13)
        x = (rng.standard_normal((10, 1000)) * 0.01).astype(np.float32)
        cfg = dict(clip_norm=1, bits=20, epsilon=4, delta=1e-5, rounds=2, min_devices_per_round=8)
        params = secagg.ddp_plan(1000, 10, seed=7, **cfg)
        self.assertEqual(sorted(params), ["beta", "bits", "clip_norm", "dim", "gamma", "mechanism", "rotation", "stddev"])
        encoded = [secagg.ddp_encode(u, params, seed=7, client=i) for i, u in enumerate(x)]
        self.assertEqual(encoded[0].dtype, np.uint32)
        self.assertEqual(encoded[0].shape, (1024,))
        self.assertLess(int(max(e.max() for e in encoded)), 2**20)
        total = np.sum(np.array(encoded, dtype=np.int64), axis=0)  # no mod: the low bits count
        got = secagg.ddp_decode(total, params, 10)
        np.testing.assert_array_equal(bits(got), bits(secagg.ddp_simulate(x, seed=7, **cfg)))

        quiet = dict(params, stddev=0.0)
        words, info = secagg.ddp_encode(x[0], quiet, seed=1, return_info=True)
        self.assertAlmostEqual(info["norm"], float(np.linalg.norm(x[0].astype(np.float64))), places=5)
        self.assertFalse(info["clipped"])
        back = secagg.ddp_decode(words, quiet, 1)
        # Stochastic rounding moves each rotated value by under gamma; the rotation keeps norms.
        self.assertLess(float(np.linalg.norm(back - x[0])), params["gamma"] * 32)
        self.assertLess(float(np.max(np.abs(back - x[0]))), params["gamma"] * 5)

    def test_ddp_unseeded_is_fresh(self):
        """By default (seed=None) a client's rounding and noise, and a plan's rotation,
        come from the operating system: an observer cannot replay them to subtract the
        noise, as it can from a seed."""
        params = secagg.ddp_plan(100, 10, clip_norm=1, epsilon=1, delta=1e-5, rounds=1, min_devices_per_round=8)
        self.assertNotEqual(params["rotation"], secagg.ddp_plan(100, 10, clip_norm=1, epsilon=1, delta=1e-5,
                                                                 rounds=1, min_devices_per_round=8)["rotation"])
        x = np.full(100, 0.01, dtype=np.float32)
        fresh = secagg.ddp_encode(x, params)
        self.assertFalse(np.array_equal(fresh, secagg.ddp_encode(x, params)))
        for guess in range(16):
            self.assertFalse(np.array_equal(fresh, secagg.ddp_encode(x, params, seed=guess)))
        np.testing.assert_array_equal(secagg.ddp_encode(x, params, seed=3), secagg.ddp_encode(x, params, seed=3))

    def test_ddp_encode_refusals(self):
        params = secagg.ddp_plan(100, 10, seed=1, clip_norm=1, epsilon=1, delta=1e-5, rounds=1, min_devices_per_round=8)
        x = np.ones(100, dtype=np.float32)
        with self.assertRaisesRegex(secagg.ValidationError, "rotation is required"):
            secagg.ddp_encode(x, {k: v for k, v in params.items() if k != "rotation"})
        with self.assertRaisesRegex(secagg.BadRequestError, "noise_multiplier"):
            secagg.ddp_encode(x, dict(params, noise_multiplier=1))
        with self.assertRaises(secagg.BadRequestError):
            secagg.ddp_encode(np.ones(99, dtype=np.float32), params)  # not the planned dim
        with self.assertRaises(secagg.ValidationError):
            secagg.ddp_encode(np.full(100, np.nan, dtype=np.float32), params)
        with self.assertRaises(secagg.BadRequestError):
            secagg.ddp_decode(np.zeros(128, dtype=np.float32), params, 10)  # words are integers
        with self.assertRaises(secagg.BadRequestError):
            secagg.ddp_decode(np.zeros(100, dtype=np.uint32), params, 10)  # not the padded length
        with self.assertRaises(secagg.ValidationError):
            secagg.ddp_decode(np.zeros(128, dtype=np.uint32), params, 0)
        with self.assertRaises(secagg.ValidationError):
            secagg.ddp_plan(100, 10, seed=1, clip_norm=1, delta=1e-5, rounds=1, min_devices_per_round=8)

    def test_ddp_refusals(self):
        x = np.ones((10, 16), dtype=np.float32)
        cfg = dict(clip_norm=1, epsilon=1, delta=1e-5, rounds=1, min_devices_per_round=8)
        with self.assertRaises(secagg.BadRequestError):
            secagg.ddp_simulate(x, noise_multiplier=1, **cfg)  # central DP's setting
        with self.assertRaises(secagg.ValidationError):
            secagg.ddp_simulate(x, **{k: v for k, v in cfg.items() if k != "epsilon"})
        with self.assertRaises(secagg.ValidationError):
            secagg.ddp_simulate(x, bits=6, **cfg)  # no gamma fits


class BadInput(unittest.TestCase):
    """Every bad input is a typed error with the platform's fields, and never a crash."""

    def test_through_the_api(self):
        x = np.ones((5, 4), dtype=np.float32)
        nan = x.copy()
        nan[2, 3] = np.nan
        cases = [
            (lambda: secagg.mean(nan), secagg.ValidationError, 422),
            (lambda: secagg.mean(np.full((2, 2), np.inf, np.float32)), secagg.ValidationError, 422),
            (lambda: secagg.trimmed_mean(x, 0.5), secagg.ValidationError, 422),
            (lambda: secagg.trimmed_mean(x, float("nan")), secagg.ValidationError, 422),
            (lambda: secagg.weighted_mean(x, [1, 1, 1, 1, -1]), secagg.ValidationError, 422),
            (lambda: secagg.weighted_mean(x, [1, 1]), secagg.BadRequestError, 400),
            (lambda: secagg.dp_mean(x, 0.0, 1.0), secagg.ValidationError, 422),
            (lambda: secagg.dp_mean(x, 1.0, -1.0), secagg.ValidationError, 422),
            (lambda: secagg.dp_mean(x, 1.0, 1.0, seed=-3), secagg.ValidationError, 422),
            # no setting is silently ignored: a misspelt key, a missing required one, one
            # that does not apply, a seed without noise, an explicit 0 minimum
            (lambda: secagg.aggregate(x, "trimmed_mean", trim_raito=0.1), secagg.BadRequestError, 400),
            (lambda: secagg.aggregate(x, "trimmed_mean"), secagg.ValidationError, 422),
            (lambda: secagg.aggregate(x, "krum", byzantine_client=1), secagg.BadRequestError, 400),
            (lambda: secagg.aggregate(x, "krum"), secagg.ValidationError, 422),
            (lambda: secagg.aggregate(x, "median", trim_ratio=0.1), secagg.BadRequestError, 400),
            (lambda: secagg.aggregate(x, "mean", seed=3), secagg.BadRequestError, 400),
            (lambda: secagg.aggregate(x, "mean", min_clients=0), secagg.ValidationError, 422),
            (lambda: secagg.aggregate(x, "dp_mean", clip_norm=1.0, noise_multiplier=1.0, epsilon=1.0), secagg.BadRequestError, 400),
            # noise whose mean cannot be a float32 (sigma = 10 * 1e38 / 5): refused, not infinities
            (lambda: secagg.dp_mean(x, 1e38, 10.0), secagg.ValidationError, 422),
            (lambda: secagg.aggregate(x, "dp_mean", clip_norm=1e38, noise_multiplier=10.0), secagg.ValidationError, 422),
            (lambda: secagg.krum(x, 2), secagg.InsufficientClientsError, 400),
            (lambda: secagg.multi_krum(x, 1, 0), secagg.ValidationError, 422),
            (lambda: secagg.bulyan(x, 1), secagg.InsufficientClientsError, 400),
            (lambda: secagg.mean(np.ones((0, 4), np.float32)), secagg.BadRequestError, 400),
            (lambda: secagg.mean(np.ones((3, 0), np.float32)), secagg.BadRequestError, 400),
            (lambda: secagg.mean(np.ones(4, np.float32)), secagg.BadRequestError, 400),
            (lambda: secagg.mean(np.ones((2, 2, 2), np.float32)), secagg.BadRequestError, 400),
            (lambda: secagg.mean(np.ones((2, 2), np.complex64)), secagg.BadRequestError, 400),
            (lambda: secagg.mean([np.ones(3), np.ones(4)]), secagg.BadRequestError, 400),
            (lambda: secagg.mean(["a", "b"]), secagg.BadRequestError, 400),
            (lambda: secagg.epsilon(1.1, 2.0, 10), secagg.ValidationError, 422),
            (lambda: secagg.epsilon(1.1, 0.01, 10, delta=0), secagg.ValidationError, 422),
            (lambda: secagg.epsilon(1.1, 0.01, 10, conversion="fancy"), secagg.ValidationError, 422),
        ]
        for i, (call, cls, status) in enumerate(cases):
            with self.subTest(case=i):
                with self.assertRaises(cls) as ctx:
                    call()
                e = ctx.exception
                self.assertIsInstance(e, secagg.SecaggError)
                self.assertEqual(e.status_code, status)
                self.assertEqual(e.error, cls.error)
                self.assertTrue(e.message)

    def raw(self, fn, *args, err_len=256):
        err = ctypes.create_string_buffer(max(err_len, 1))
        status = fn(*args, err if err_len else None, err_len)
        return status, err.value

    def test_through_the_c_abi(self):
        x = np.ones((4, 8), dtype=np.float32)
        out = np.full(8, 7, dtype=np.float32)
        X, O = x.ctypes.data, out.ctypes.data
        rows = (ctypes.c_void_p * 4)(*[x[i].ctypes.data for i in range(4)])
        null_row = (ctypes.c_void_p * 4)(x[0].ctypes.data, None, x[2].ctypes.data, x[3].ctypes.data)
        cases = [
            ("both NULL", lib.secagg_mean, (None, None, 4, 8, O)),
            ("both given", lib.secagg_mean, (X, rows, 4, 8, O)),
            ("NULL out", lib.secagg_mean, (X, None, 4, 8, None)),
            ("negative n", lib.secagg_mean, (X, None, -1, 8, O)),
            ("negative d", lib.secagg_mean, (X, None, 4, -8, O)),
            ("n*d overflows", lib.secagg_mean, (X, None, 1 << 40, 1 << 40, O)),
            ("a NULL row", lib.secagg_median, (None, null_row, 4, 8, O)),
            ("out inside x", lib.secagg_mean, (X, None, 4, 8, x[1].ctypes.data)),
            ("out overlaps a row", lib.secagg_median, (None, rows, 4, 8, x[2, 4:].ctypes.data)),
            ("NULL weights", lib.secagg_weighted_mean, (X, None, 4, 8, None, O)),
            ("NULL epsilon", lib.secagg_epsilon, (1.0, 0.01, 10, 1e-5, 0, None, None)),
            ("NULL config", lib.secagg_aggregate, (None, X, None, 4, 8, None, -1, O, None, 0)),
            ("bad config", lib.secagg_aggregate, (b"{", X, None, 4, 8, None, -1, O, None, 0)),
            ("small result", lib.secagg_aggregate, (b'{"strategy":"mean"}', X, None, 4, 8, None, -1, O,
                                                    ctypes.create_string_buffer(4), 4)),
        ]
        for name, fn, args in cases:
            with self.subTest(name):
                status, msg = self.raw(fn, *args)
                self.assertEqual(status, 400, msg)
                self.assertIn(b'"error":"bad_request"', msg)
                np.testing.assert_array_equal(out, 7)  # untouched
                np.testing.assert_array_equal(x, 1)
        # Error buffers: NULL with a length, a negative length, and one too small to hold
        # the message (truncated, still NUL-terminated).
        self.assertEqual(lib.secagg_mean(None, None, 4, 8, O, None, 64), 400)
        err = ctypes.create_string_buffer(16)
        self.assertEqual(lib.secagg_mean(None, None, 4, 8, O, err, -1), 400)
        self.assertEqual(lib.secagg_mean(None, None, 4, 8, O, err, 16), 400)
        self.assertEqual(len(err.value), 15)
        self.assertEqual(lib.secagg_mean(X, None, 4, 8, O, None, 0), 0)  # no buffer, no message
        np.testing.assert_array_equal(out, 1)
        small = ctypes.create_string_buffer(3)
        self.assertEqual(lib.secagg_version(small, 3), 400)
        self.assertEqual(lib.secagg_version(None, 100), 400)
        self.assertEqual(lib.secagg_kernels(small, -5), 400)


class Threads(unittest.TestCase):
    def test_concurrent_calls_agree(self):
        x = poisoned_round(n=16, d=50_000, f=2)
        want = {"median": secagg.median(x), "trimmed": secagg.trimmed_mean(x, 0.2), "krum": secagg.krum(x, 2)}
        failures = []

        def work(i):
            try:
                for _ in range(5):
                    for name, got in (("median", secagg.median(x)), ("trimmed", secagg.trimmed_mean(x, 0.2)),
                                      ("krum", secagg.krum(x, 2))):
                        if not np.array_equal(bits(got), bits(want[name])):
                            failures.append((i, name))
                    try:
                        secagg.mean(np.full((2, 3), np.nan, np.float32))
                        failures.append((i, "nan accepted"))
                    except secagg.ValidationError:
                        pass
            except Exception as e:  # noqa: BLE001 - any escape is a failure of the test
                failures.append((i, repr(e)))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])


if __name__ == "__main__":
    unittest.main()
