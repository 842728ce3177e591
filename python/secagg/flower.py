"""Flower's calling convention: the aggregation a Flower strategy runs, on the engine.

Each function takes what Flower's strategies hold, ``results``: a list of
``(list of ndarrays, num_examples)``, one per client, and returns a list of ndarrays
shaped as the first client's, so a strategy swaps its call to
``flwr.server.strategy.aggregate`` for the one here::

    from secagg import flower
    parameters = flower.aggregate_krum(weights_results, num_malicious=2, to_keep=0)

The layers of every client are concatenated once into one float32 round and the
result is split back into views of one float32 vector (no copy per layer). Where
Flower's semantics differ from the engine's, these follow Flower:

- the engine works in float32: layers of other dtypes (float64, or int64 such as
  BatchNorm's num_batches_tracked) come back as float32, where Flower returns what numpy
  computes (float64 for integer layers). Sums are taken in float64 and rounded once, so
  results can differ from Flower's float32 arithmetic in the last bit;
- ``aggregate_krum`` scores each update by its max(1, N - f - 2) nearest neighbours, as
  Flower does, which also runs where N <= 2f + 2 and Krum's guarantee does not hold (the
  engine's own krum refuses that); ties go to the lower index; Multi-Krum averages the
  selected updates weighted by their example counts, as Flower's does (the engine's
  multi_krum averages them uniformly);
- ``aggregate_bulyan`` is Flower's legacy Bulyan: N - 2f rounds of Krum on what remains,
  then per coordinate the mean of the N - 4f values closest to the median of those
  selected; it needs N >= 4f + 3;
- ``aggregate_trimmed_avg`` and ``aggregate_median`` ignore the example counts, as
  Flower's FedTrimmedAvg and FedMedian do.
"""

import numpy as np

from . import _as_row_block, _call, _float, _int, lib, bulyan as _bulyan
from . import median as _median, trimmed_mean as _trimmed_mean, weighted_mean as _weighted_mean
from .errors import BadRequestError

__all__ = ["aggregate", "aggregate_trimmed_avg", "aggregate_median", "aggregate_krum", "aggregate_bulyan"]


def _flatten(results):
    """The round as an (N, D) float32 block, the example counts, and the layers' shapes."""
    if not results:
        raise BadRequestError("results is empty: no client to aggregate")
    try:
        layers = [[np.asarray(a) for a in weights] for weights, _ in results]
        counts = np.asarray([n for _, n in results], dtype=np.float64)
    except (TypeError, ValueError):
        raise BadRequestError("results must be a list of (list of ndarrays, num_examples)") from None
    shapes = [a.shape for a in layers[0]]
    for i, client in enumerate(layers):
        if [a.shape for a in client] != shapes:
            raise BadRequestError(f"results[{i}] has layers of shapes {[a.shape for a in client]}, "
                                  f"results[0] has {shapes}")
    sizes = [int(np.prod(s)) for s in shapes]
    block = np.empty((len(layers), sum(sizes)), dtype=np.float32)
    for i, client in enumerate(layers):
        lo = 0
        for a, size in zip(client, sizes):
            if a.dtype.kind not in "fiub":
                raise BadRequestError(f"results[{i}] holds a layer of dtype {a.dtype}; want real numbers")
            block[i, lo:lo + size] = a.reshape(-1)
            lo += size
    return block, counts, shapes, sizes


def _split(vector, shapes, sizes):
    """The result vector as one view per layer."""
    out, lo = [], 0
    for shape, size in zip(shapes, sizes):
        out.append(vector[lo:lo + size].reshape(shape))
        lo += size
    return out


def aggregate(results):
    """FedAvg, Flower's ``aggregate``: per layer, the mean of the clients' layers weighted
    by their example counts."""
    block, counts, shapes, sizes = _flatten(results)
    return _split(_weighted_mean(block, counts), shapes, sizes)


def aggregate_trimmed_avg(results, proportiontocut):
    """FedTrimmedAvg, Flower's ``aggregate_trimmed_avg``: per coordinate, the mean after
    dropping floor(proportiontocut * N) values from each end (scipy's trim_mean)."""
    block, _, shapes, sizes = _flatten(results)
    return _split(_trimmed_mean(block, _float("proportiontocut", proportiontocut)), shapes, sizes)


def aggregate_median(results):
    """FedMedian, Flower's ``aggregate_median``: the coordinate-wise median (numpy's
    convention: the mean of the two middle values for an even N)."""
    block, _, shapes, sizes = _flatten(results)
    return _split(_median(block), shapes, sizes)


def _krum_select(block, num_malicious, m):
    """The m best Krum scores' indices with Flower's max(1, N - f - 2) neighbours (N >= 2)."""
    x, rows, n, d, keep = _as_row_block(block)
    nearest = max(1, n - _int("num_malicious", num_malicious, 0) - 2)
    selected = np.zeros(m, dtype=np.int64)
    _call(lib.secagg_krum_select, x, rows, n, d, nearest, m, selected.ctypes.data)
    del keep
    return selected


def aggregate_krum(results, num_malicious, to_keep):
    """Krum, Flower's ``aggregate_krum``: with to_keep 0 the update whose squared distances
    to its max(1, N - f - 2) nearest others sum lowest; with to_keep > 0 (Multi-Krum) the
    mean of the to_keep best-scored updates weighted by their example counts."""
    block, counts, shapes, sizes = _flatten(results)
    keep = _int("to_keep", to_keep, 0, len(results))
    if len(results) == 1:
        return _split(block[0].copy(), shapes, sizes)
    selected = _krum_select(block, num_malicious, max(keep, 1))
    if keep == 0:
        return _split(block[selected[0]].copy(), shapes, sizes)
    return _split(_weighted_mean(block[selected], counts[selected]), shapes, sizes)


def aggregate_bulyan(results, num_malicious):
    """Bulyan as Flower computes it with Krum as its first rule (the legacy Bulyan):
    N - 2f picks of Krum, each from the updates not yet picked, then per coordinate the
    mean of the N - 4f picked values closest to their median. Needs N >= 4f + 3."""
    block, _, shapes, sizes = _flatten(results)
    return _split(_bulyan(block, _int("num_malicious", num_malicious, 0)), shapes, sizes)
