"""secagg: robust and private aggregation of federated-learning updates, from numpy.

Each function takes one round of N client updates, either an (N, d) array or a list of
N arrays of length d, and returns the (d,) float32 aggregate. Updates are float32 and
C-contiguous on the way in: other real dtypes and layouts are converted (a copy), other
kinds refused. The work runs in the Go engine through its C ABI (libsecagg), without
copying float32 input, on all cores (see ``set_threads``), with the GIL released; results
are the same bits as the Go library's.

The means and the median take ``out=``, a (d,) float32 array to write into, as numpy's
reductions do. Errors raise ``SecaggError`` subclasses carrying the platform's ``error``, ``message`` and
``status_code``. Do not fork a process after importing secagg (the Go runtime does not
survive fork); use multiprocessing's "spawn" or "forkserver" start methods.
"""

import ctypes
import json

import numpy as np

from ._lib import lib
from .errors import (BadRequestError, ConflictError, InsufficientClientsError,
                     PayloadTooLargeError, SecaggError, ValidationError, from_wire)

__all__ = [
    "aggregate", "mean", "weighted_mean", "trimmed_mean", "median", "krum", "multi_krum", "bulyan",
    "geometric_median", "centered_clipping", "norm_bounded_mean", "dp_mean", "secure_simulate", "ddp_simulate",
    "ddp_plan", "ddp_encode", "ddp_decode",
    "SECURE_STAGES", "epsilon", "noise_multiplier", "version", "kernels",
    "set_threads", "SecaggError", "ValidationError", "BadRequestError",
    "InsufficientClientsError", "ConflictError", "PayloadTooLargeError",
]

_ERR_LEN = 16384  # the C ABI shortens a longer message, keeping its JSON whole


def _int(name, v, lo=-2**63, hi=2**63 - 1):
    """v as an int64 for the C ABI: an integral number (numpy's too) in [lo, hi], else a
    typed error naming the parameter (ctypes would wrap 2**64 to 0)."""
    if v is None:
        raise ValidationError(f"{name} is required, got None")
    try:
        i = int(v)
    except (TypeError, ValueError):
        raise BadRequestError(f"{name} must be an integer, got {v!r}") from None
    if i != v:
        raise BadRequestError(f"{name} must be an integer, got {v!r}")
    if not lo <= i <= hi:
        raise ValidationError(f"{name} must be in [{lo}, {hi}], got {i}")
    return i


def _float(name, v):
    """v as a float for the C ABI, or a typed error naming the parameter."""
    if v is None:
        raise ValidationError(f"{name} is required, got None")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise BadRequestError(f"{name} must be a number, got {v!r}") from None


def _json_value(v):
    """A numpy scalar or array in a configuration, as JSON takes it."""
    if isinstance(v, (np.generic, np.ndarray)):
        return v.tolist()
    raise BadRequestError(f"a configuration value must be a number or a string, got {type(v).__name__}")


def _as_row_block(updates):
    """The round as (x, rows, n, d, keep): a C-order float32 block, or row pointers to
    float32 arrays; keep holds what must stay alive during the call."""
    if isinstance(updates, (list, tuple)):
        rows = [_as_f32(u, "each update") for u in updates]
        for i, r in enumerate(rows):
            if r.ndim != 1:
                raise BadRequestError(f"updates[{i}] has shape {r.shape}; each update must be 1-D")
        d = rows[0].shape[0] if rows else 0
        for i, r in enumerate(rows):
            if r.shape[0] != d:
                raise BadRequestError(f"updates[{i}] has length {r.shape[0]}, updates[0] has {d}")
        ptrs = (ctypes.c_void_p * max(len(rows), 1))(*[r.ctypes.data for r in rows])
        return None, ptrs, len(rows), d, (rows, ptrs)
    x = _as_f32(updates, "updates")
    if x.ndim != 2:
        raise BadRequestError(f"updates has shape {x.shape}; want (N, d), or a list of N 1-D arrays")
    return x.ctypes.data, None, x.shape[0], x.shape[1], x


def _as_f32(a, what):
    a = np.asarray(a)
    if a.dtype.kind not in "fiu":
        raise BadRequestError(f"{what} must hold real numbers (float32 best), got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float32)


def _as_f64(a, n, what):
    a = np.asarray(a)
    if a.dtype.kind not in "fiu":
        raise BadRequestError(f"{what} must hold real numbers, got dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.shape != (n,):
        raise BadRequestError(f"{what} has shape {a.shape}; want ({n},), one per update")
    return a


def _seed(seed):
    """The C ABI's seed: -1 (a secure generator) for None, else a seed in [0, 2**63)."""
    if seed is None:
        return -1
    return _int("seed", seed, 0)


def _call(fn, *args):
    err = ctypes.create_string_buffer(_ERR_LEN)
    status = fn(*args, err, _ERR_LEN)
    if status != 0:
        raise from_wire(err.value, status)


def _aggregate(fn, updates, *params, extra=(), out=None):
    """Runs one strategy's export: fn(x, rows, n, d, *params, out, *extra, err, err_len)."""
    x, rows, n, d, keep = _as_row_block(updates)
    if out is None:
        out = np.empty(d, dtype=np.float32)
    elif not (isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (d,)
              and out.flags.c_contiguous and out.flags.writeable):
        raise BadRequestError(f"out must be a writeable, contiguous float32 array of shape ({d},)")
    _call(fn, x, rows, n, d, *params, out.ctypes.data, *extra)
    del keep
    return out


def aggregate(updates, strategy, weights=None, seed=None, return_result=False, **config):
    """Any strategy, configured as the round engine is, with the platform's keys:
    ``aggregate(x, "trimmed_mean", trim_ratio=0.1)``, ``aggregate(x, "krum",
    byzantine_clients=2, multi_krum_m=5)``, ``aggregate(x, **coordinator_config)``.
    weights are read by weighted_mean and geometric_median; seed makes dp_mean's noise
    replayable (insecure). With return_result, returns (result, the round's result as a
    dict: clients, elapsed_ns, and where they apply selected, iterations, norms,
    noise_sigma)."""
    cfg = json.dumps(dict(config, strategy=strategy), default=_json_value).encode()
    x, rows, n, d, keep = _as_row_block(updates)
    w = None if weights is None else _as_f64(weights, n, "weights")
    out = np.empty(d, dtype=np.float32)
    # Room for the result's fields and every norm (up to 24 characters and a comma) or index.
    result = ctypes.create_string_buffer(512 + 32 * n)
    _call(lib.secagg_aggregate, cfg, x, rows, n, d, None if w is None else w.ctypes.data,
          _seed(seed), out.ctypes.data, result, len(result))
    del keep
    if not return_result:
        return out
    info = json.loads(result.value)
    if "selected" in info:
        info["selected"] = [int(i) for i in info["selected"]]
    return out, info


# The stages a simulated client can drop out before (secure_simulate's drops).
SECURE_STAGES = {"none": 0, "setup": 1, "share_keys": 2, "collect_masked_vectors": 3, "unmask": 4}


def secure_simulate(updates, weights=None, drops=None, seed=None, return_result=False, **config):
    """One secure round played in process (SecAgg+, the default suite secagg-v1): the
    clients quantise and mask their updates, the server unmasks the weighted mean. Compare
    it with ``weighted_mean`` to see what quantisation costs. config takes the secure
    round's keys: shares, threshold, clipping_range, quantization_range, modulus_bits,
    max_weight, min_devices_per_round. drops gives, per client, the stage it drops out
    before (a name of SECURE_STAGES or its number; None: nobody drops). seed replays the
    clients' randomness (insecure). With return_result, returns (mean, the round's result
    as a dict: clients, active, dropped, excluded (client i is id i + 1), clipped, masks,
    timings_ns)."""
    cfg = json.dumps(config, default=_json_value).encode()
    x, rows, n, d, keep = _as_row_block(updates)
    w = None if weights is None else _as_f64(weights, n, "weights")
    stages = _stages(drops, n)
    out = np.empty(d, dtype=np.float32)
    result = ctypes.create_string_buffer(1024 + 64 * n)
    _call(lib.secagg_secure_simulate, cfg, x, rows, n, d, None if w is None else w.ctypes.data,
          None if stages is None else stages.ctypes.data, _seed(seed), out.ctypes.data, result, len(result))
    del keep
    if not return_result:
        return out
    return out, json.loads(result.value)


def _stages(drops, n):
    if drops is None:
        return None
    try:
        stages = np.array([SECURE_STAGES[s] if isinstance(s, str) else s for s in drops], dtype=np.int64)
    except KeyError as e:
        raise ValidationError(f"drops: unknown stage {e.args[0]!r}; the stages are {', '.join(SECURE_STAGES)}") from None
    if stages.shape != (n,):
        raise BadRequestError(f"drops has {stages.size} stages; want {n}, one per update")
    return stages


def ddp_simulate(updates, drops=None, seed=None, return_result=False, **config):
    """One distributed-DP round played in process: each client clips, rotates, rounds and
    noises its own update into integers mod 2^bits (Skellam or the distributed discrete
    Gaussian) and masks it in a secure round; the server decodes the survivors' noisy mean.
    config takes the round's keys: mechanism, clip_norm, bits, epsilon, delta, rounds,
    min_devices_per_round (the noise is calibrated so that `rounds` rounds of that many
    survivors spend epsilon), beta, wrap_sigmas, shares, threshold. drops and seed are
    secure_simulate's. With return_result, returns (mean, the round's result as a dict:
    secure_simulate's, plus mechanism, gamma, stddev, bits, wrap_chance and epsilon, this
    round's alone). Compare it with dp_mean at the same epsilon to see what distributing
    the noise costs."""
    cfg = json.dumps(config, default=_json_value).encode()
    x, rows, n, d, keep = _as_row_block(updates)
    stages = _stages(drops, n)
    out = np.empty(d, dtype=np.float32)
    result = ctypes.create_string_buffer(1024 + 64 * n)
    _call(lib.secagg_ddp_simulate, cfg, x, rows, n, d, None if stages is None else stages.ctypes.data,
          _seed(seed), out.ctypes.data, result, len(result))
    del keep
    if not return_result:
        return out
    return out, json.loads(result.value)


def _params(params):
    """A ddp_plan dict as the C ABI's JSON (every key required there)."""
    if not isinstance(params, dict):
        raise BadRequestError(f"params must be the dict ddp_plan returns, got {type(params).__name__}")
    return json.dumps(params, default=_json_value).encode()


def _padded(dim):
    return 1 << (dim - 1).bit_length() if dim > 1 else 1


def ddp_plan(dim, clients, seed=None, **config):
    """The encoding of a distributed-DP round of `clients` sampled clients of updates of dim
    values, planned from the round's keys (ddp_simulate's: the noise calibrated so that
    `rounds` rounds of min_devices_per_round survivors spend epsilon), as the dict every
    client's ddp_encode and the server's ddp_decode take: mechanism, dim, clip_norm, gamma,
    bits, beta, stddev and rotation (the seed of the random rotation, 64 hex digits). seed
    replays ddp_simulate's rotation (insecure: notebooks and tests); None draws it from the
    operating system, as a real round must."""
    cfg = json.dumps(config, default=_json_value).encode()
    result = ctypes.create_string_buffer(512)
    _call(lib.secagg_ddp_plan, cfg, _int("clients", clients, 1), _int("dim", dim, 1), _seed(seed),
          result, len(result))
    return json.loads(result.value)


def ddp_encode(update, params, seed=None, client=0, return_info=False):
    """One client's encoding of its update under params (ddp_plan's): clipped, rotated, over
    gamma, rounded stochastically until within the norm bound the accountant charges, plus
    the client's own noise, mod 2**bits: a uint32 array of the padded length (the power of
    two at or above dim). Mask it with any secure sum mod 2**bits and
    hand the sum to ddp_decode. seed and client (0-based) replay ddp_simulate's client
    `client` (insecure); None draws the rounding and the noise from the operating system.
    With return_info, returns (words, {"norm", "clipped", "roundings"})."""
    p = _params(params)
    x = _as_f32(update, "update")
    if x.ndim != 1:
        raise BadRequestError(f"update has shape {x.shape}; want one 1-D update")
    words = np.empty(_padded(x.shape[0]), dtype=np.uint32)
    result = ctypes.create_string_buffer(256)
    _call(lib.secagg_ddp_encode, p, x.ctypes.data, x.shape[0], _seed(seed), _int("client", client, 0),
          words.ctypes.data, words.shape[0], result, len(result))
    if not return_info:
        return words
    return words, json.loads(result.value)


def ddp_decode(sum_words, params, divisor):
    """The mean that sum_words stands for: the clients' encodings (ddp_encode's) summed mod
    2**bits (only the low bits count, so a plain uint32 or int64 numpy sum will do), each
    word centred, times gamma, rotated back and over divisor (the clients summed). Returns a
    (dim,) float32 array."""
    p = _params(params)
    w = np.asarray(sum_words)
    if w.dtype.kind not in "iu" or w.ndim != 1:
        raise BadRequestError(f"sum_words must be a 1-D array of integers, got dtype {w.dtype} shape {w.shape}")
    w = np.ascontiguousarray(w.astype(np.uint32, casting="unsafe"))  # mod 2**32: the low bits stay
    dim = _int("params['dim']", params.get("dim"), 1)
    out = np.empty(dim, dtype=np.float32)
    _call(lib.secagg_ddp_decode, p, w.ctypes.data, w.shape[0], _float("divisor", divisor), out.ctypes.data, dim)
    return out


def mean(updates, out=None):
    """The coordinate-wise mean (np.mean(updates, axis=0) rounded once from float64)."""
    return _aggregate(lib.secagg_mean, updates, out=out)


def weighted_mean(updates, weights, out=None):
    """FedAvg: sum_i w_i x_i / sum_i w_i; weights such as example counts, finite, >= 0."""
    w = _as_f64(weights, len(updates), "weights")
    return _aggregate(lib.secagg_weighted_mean, updates, w.ctypes.data, out=out)


def trimmed_mean(updates, trim_ratio, out=None):
    """The coordinate-wise trimmed mean: floor(trim_ratio * N) values trimmed from each end
    of every coordinate, as scipy.stats.trim_mean(updates, trim_ratio, axis=0)."""
    return _aggregate(lib.secagg_trimmed_mean, updates, _float("trim_ratio", trim_ratio), out=out)


def median(updates, out=None):
    """The coordinate-wise median, as np.median(updates, axis=0)."""
    return _aggregate(lib.secagg_median, updates, out=out)


def krum(updates, byzantine_clients, return_selected=False):
    """Krum (Blanchard et al. 2017) tolerating f = byzantine_clients: the update whose
    squared distances to its N - f - 2 nearest others sum lowest, ties to the lower
    index. Needs N > 2f + 2 (Flower's clamps the neighbours at 1 instead: see
    secagg.flower). With return_selected, returns (result, index)."""
    out, sel = multi_krum(updates, byzantine_clients, 1, return_selected=True)
    return (out, int(sel[0])) if return_selected else out


def multi_krum(updates, byzantine_clients, m, return_selected=False):
    """The unweighted mean of the m updates with the best Krum scores (ties to the lower
    index; Flower's Multi-Krum weights them by example counts: secagg.flower). With
    return_selected, returns (result, indices), best first."""
    f, m = _int("byzantine_clients", byzantine_clients), _int("multi_krum_m", m)
    sel = np.zeros(max(min(m, len(updates)), 0), dtype=np.int64)
    out = _aggregate(lib.secagg_krum, updates, f, m,
                     extra=(sel.ctypes.data if sel.size else None,))
    return (out, sel) if return_selected else out


def bulyan(updates, byzantine_clients, return_selected=False):
    """Bulyan (El Mhamdi et al. 2018) as Flower computes it: N - 2f picks of Krum, each
    among the updates not yet picked, then per coordinate the mean of the N - 4f picked
    values closest to their median; needs N >= 4f + 3. With return_selected, returns
    (result, the N - 2f indices Krum chose, in order)."""
    n, f = len(updates), _int("byzantine_clients", byzantine_clients)
    sel = np.zeros(max(n - 2 * f, 0), dtype=np.int64)
    out = _aggregate(lib.secagg_bulyan, updates, f, extra=(sel.ctypes.data if sel.size else None,))
    return (out, sel) if return_selected else out


def geometric_median(updates, weights=None, max_iterations=0, tolerance=0.0, return_iterations=False):
    """The geometric median by RFA's smoothed Weiszfeld iteration (Pillutla et al. 2019);
    0 takes the defaults (100 steps, tolerance 1e-6). With return_iterations, returns
    (result, steps)."""
    w = None if weights is None else _as_f64(weights, len(updates), "weights")
    steps = ctypes.c_int64(0)
    out = _aggregate(lib.secagg_geometric_median, updates, None if w is None else w.ctypes.data,
                     _int("max_iterations", max_iterations), _float("tolerance", tolerance),
                     extra=(ctypes.byref(steps),))
    return (out, steps.value) if return_iterations else out


def centered_clipping(updates, radius, iterations=1, center=None):
    """Centered clipping (Karimireddy, He and Jaggi 2021): from v = center (None: zeros),
    `iterations` times v += mean_i (x_i - v) * min(1, radius / |x_i - v|), so no update
    moves the center by more than radius / N per pass. Pass the previous round's result
    as center to learn from history."""
    x, rows, n, d, keep = _as_row_block(updates)
    c = None
    if center is not None:
        c = _as_f32(center, "center")
        if c.shape != (d,):
            raise BadRequestError(f"center has shape {c.shape}; want ({d},)")
    out = np.empty(d, dtype=np.float32)
    _call(lib.secagg_centered_clipping, x, rows, n, d, _float("radius", radius), _int("iterations", iterations),
          None if c is None else c.ctypes.data, out.ctypes.data)
    del keep
    return out


def norm_bounded_mean(updates, clip_norm, return_norms=False):
    """The mean of the updates each clipped to L2 norm clip_norm (norm bounding against
    model replacement), without noise. An update whose exact norm is within clip_norm is
    left as it is; one above is scaled to clip_norm less 2^-22 relative, so that float32
    rounding never leaves it above. With return_norms, returns (result, norms)."""
    norms = np.zeros(len(updates), dtype=np.float64)
    out = _aggregate(lib.secagg_norm_bounded_mean, updates, _float("clip_norm", clip_norm),
                     extra=(norms.ctypes.data if norms.size else None,))
    return (out, norms) if return_norms else out


def dp_mean(updates, clip_norm, noise_multiplier, seed=None, return_norms=False):
    """DP-FedAvg: every update clipped to L2 norm clip_norm (as norm_bounded_mean clips),
    the mean, then Gaussian noise of standard deviation noise_multiplier * clip_norm / N,
    exact on a power-of-two grid (the discrete Gaussian, so no output reveals the input
    through the noise's floating-point support), from a cryptographically secure
    generator. A seed (an int >= 0) makes the noise replayable and insecure: for tests and
    notebooks only. With return_norms, returns (result, the norms before clipping)."""
    norms = np.zeros(len(updates), dtype=np.float64)
    out = _aggregate(lib.secagg_dp_mean, updates, _float("clip_norm", clip_norm),
                     _float("noise_multiplier", noise_multiplier),
                     _seed(seed),
                     extra=(norms.ctypes.data if norms.size else None,))
    return (out, norms) if return_norms else out


def _conversion(conversion):
    if conversion not in ("improved", "classic"):
        raise ValidationError(f"conversion must be 'improved' or 'classic', got {conversion!r}")
    return 1 if conversion == "classic" else 0


def epsilon(noise_multiplier, sample_rate, rounds, delta=1e-5, conversion="improved", return_order=False):
    """The epsilon that `rounds` rounds of the subsampled Gaussian mechanism spend at delta
    (RDP accounting). conversion "improved" matches Opacus and dp_accounting today,
    "classic" the published tutorials. With return_order, returns (epsilon, RDP order)."""
    eps, order = ctypes.c_double(), ctypes.c_double()
    _call(lib.secagg_epsilon, _float("noise_multiplier", noise_multiplier), _float("sample_rate", sample_rate),
          _int("rounds", rounds), _float("delta", delta),
          _conversion(conversion), ctypes.byref(eps), ctypes.byref(order))
    return (eps.value, order.value) if return_order else eps.value


def noise_multiplier(target_epsilon, sample_rate, rounds, delta=1e-5, conversion="improved"):
    """The smallest noise multiplier whose `rounds` rounds spend at most target_epsilon."""
    z = ctypes.c_double()
    _call(lib.secagg_noise_multiplier, _float("target_epsilon", target_epsilon), _float("sample_rate", sample_rate),
          _int("rounds", rounds), _float("delta", delta), _conversion(conversion), ctypes.byref(z))
    return z.value


def _string(fn):
    buf = ctypes.create_string_buffer(4096)
    if fn(buf, len(buf)) != 0:
        raise SecaggError(f"{fn.__name__} needs a larger buffer")
    return buf.value.decode()


def version():
    """The engine's version."""
    return _string(lib.secagg_version)


def kernels():
    """The SIMD path in use and why, the paths this CPU supports, and the worker threads."""
    return json.loads(_string(lib.secagg_kernels))


def set_threads(n):
    """Bounds the threads one call uses (n <= 0: every core, the default) so the engine
    does not oversubscribe beside numpy's or torch's thread pools; returns the previous
    bound (0: none)."""
    return int(lib.secagg_set_threads(_int("threads", n)))


__version__ = version()
