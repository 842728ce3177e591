"""secagg.flower against Flower's own published semantics: the expected values of its
strategy tests (flwr/server/strategy/*_test.py), written out here as data."""

import unittest

import numpy as np
import scipy.stats

from secagg import flower
import secagg


def f32(*v):
    return np.array(v, dtype=np.float32)


def clients(*vectors, n=5):
    return [([np.array(v, dtype=np.float32)], n) for v in vectors]


class FlowerSemantics(unittest.TestCase):
    def test_fedavg_aggregate_test(self):
        # aggregate_test.py: two clients with the same integer layers, weights 1 and 2.
        results = [([np.array([[1, 2, 3], [4, 5, 6]]), np.array([7, 8, 9, 10])], 1),
                   ([np.array([[1, 2, 3], [4, 5, 6]]), np.array([7, 8, 9, 10])], 2)]
        got = flower.aggregate(results)
        np.testing.assert_array_equal(got[0], [[1, 2, 3], [4, 5, 6]])
        np.testing.assert_array_equal(got[1], [7, 8, 9, 10])
        self.assertEqual(got[0].shape, (2, 3))
        self.assertIs(got[0].base, got[1].base, "layers are views of one result vector")
        # weighted by the counts
        np.testing.assert_allclose(flower.aggregate([([f32(0.0)], 1), ([f32(3.0)], 2)])[0], [2.0])

    def test_krum_test(self):
        # krum_test.py: f = 1 over three clients, Flower's max(1, N - f - 2) = 1 neighbour;
        # 0.7 and 1.0 tie, the lower index wins.
        got = flower.aggregate_krum(clients([0.2] * 4, [0.7] * 4, [1.0] * 4), num_malicious=1, to_keep=0)
        np.testing.assert_array_equal(got[0], f32(0.7, 0.7, 0.7, 0.7))

    def test_multikrum_test(self):
        # multikrum_test.py: keep 2 of three, f = 1: the mean of 0.2 and 0.5.
        got = flower.aggregate_krum(clients([0.2] * 4, [0.5] * 4, [1.0] * 4), num_malicious=1, to_keep=2)
        np.testing.assert_array_equal(got[0], f32(0.35, 0.35, 0.35, 0.35))
        # weighted by example counts, as Flower's Multi-Krum is
        res = [([f32(0.2)], 1), ([f32(0.5)], 3), ([f32(9.0)], 1)]
        np.testing.assert_allclose(flower.aggregate_krum(res, 1, 2)[0], [(0.2 + 1.5) / 4], rtol=1e-6)

    def test_fedmedian_test(self):
        # fedmedian_test.py
        got = flower.aggregate_median(clients([0.2] * 4, [1.0] * 4, [0.5] * 4))
        np.testing.assert_array_equal(got[0], f32(0.5, 0.5, 0.5, 0.5))

    def test_bulyan_test(self):
        # bulyan_test.py: f = 0 over six clients: every update is picked and averaged.
        got = flower.aggregate_bulyan(clients([0.2] * 4, [0.5] * 4, [0.7] * 4, [12.0] * 4, [0.1] * 4, [0.1] * 4),
                                      num_malicious=0)
        coordinate = (0.2 + 0.5 + 0.7 + 12.0 + 0.1 + 0.1) / 6
        np.testing.assert_array_equal(got[0], np.array([coordinate] * 4, dtype=np.float32))

    def test_trimmed_avg(self):
        # Flower's _trim_mean is scipy's trim_mean along axis 0.
        rng = np.random.default_rng(3)
        layers = [rng.standard_normal((11, 3, 4)).astype(np.float32), rng.standard_normal((11, 5)).astype(np.float32)]
        results = [([layers[0][i], layers[1][i]], 1) for i in range(11)]
        got = flower.aggregate_trimmed_avg(results, 0.2)
        for g, layer in zip(got, layers):
            np.testing.assert_allclose(g, scipy.stats.trim_mean(layer, 0.2, axis=0), rtol=1e-5, atol=1e-6)

    def test_bad_results(self):
        with self.assertRaises(secagg.BadRequestError):
            flower.aggregate([])
        with self.assertRaises(secagg.BadRequestError):
            flower.aggregate([([f32(1, 2)], 1), ([f32(1, 2, 3)], 1)])
        with self.assertRaises(secagg.ValidationError):
            flower.aggregate([([f32(1)], 0), ([f32(2)], 0)])  # no examples at all: Flower divides by 0
        with self.assertRaises(secagg.InsufficientClientsError):
            flower.aggregate_bulyan(clients([0.1], [0.2], [0.3]), num_malicious=1)


if __name__ == "__main__":
    unittest.main()
