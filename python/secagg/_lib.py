"""Loading libsecagg and declaring its C signatures (see cmd/libsecagg/secagg.h)."""

import ctypes
import os
from ctypes import POINTER, c_char, c_char_p, c_double, c_int, c_int64, c_void_p

_NAMES = {"posix": "libsecagg.so", "nt": "secagg.dll"}


def _find():
    path = os.environ.get("SECAGG_LIB")
    if path:
        return path
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), _NAMES.get(os.name, "libsecagg.so"))
    if not os.path.exists(here):
        raise ImportError(
            f"secagg: the shared library is not at {here} and SECAGG_LIB is not set; "
            "build it with `make lib` in the repository (go build -buildmode=c-shared)")
    return here


lib = ctypes.CDLL(_find())  # CDLL releases the GIL for the length of every call

_round = [c_void_p, c_void_p, c_int64, c_int64]  # x, rows, n, d
_err = [POINTER(c_char), c_int64]
_I64P = POINTER(c_int64)
_DP = POINTER(c_double)

_SIGNATURES = {
    "secagg_mean": _round + [c_void_p] + _err,
    "secagg_weighted_mean": _round + [c_void_p, c_void_p] + _err,
    "secagg_trimmed_mean": _round + [c_double, c_void_p] + _err,
    "secagg_median": _round + [c_void_p] + _err,
    "secagg_krum": _round + [c_int64, c_int64, c_void_p, c_void_p] + _err,
    "secagg_krum_select": _round + [c_int64, c_int64, c_void_p] + _err,
    "secagg_bulyan": _round + [c_int64, c_void_p, c_void_p] + _err,
    "secagg_geometric_median": _round + [c_void_p, c_int64, c_double, c_void_p, _I64P] + _err,
    "secagg_centered_clipping": _round + [c_double, c_int64, c_void_p, c_void_p] + _err,
    "secagg_norm_bounded_mean": _round + [c_double, c_void_p, c_void_p] + _err,
    "secagg_dp_mean": _round + [c_double, c_double, c_int64, c_void_p, c_void_p] + _err,
    "secagg_aggregate": [c_char_p] + _round + [c_void_p, c_int64, c_void_p, c_char_p, c_int64] + _err,
    "secagg_secure_simulate": [c_char_p] + _round + [c_void_p, c_void_p, c_int64, c_void_p, c_char_p, c_int64] + _err,
    "secagg_ddp_simulate": [c_char_p] + _round + [c_void_p, c_int64, c_void_p, c_char_p, c_int64] + _err,
    "secagg_ddp_plan": [c_char_p, c_int64, c_int64, c_int64, c_char_p, c_int64] + _err,
    "secagg_ddp_encode": [c_char_p, c_void_p, c_int64, c_int64, c_int64, c_void_p, c_int64, c_char_p, c_int64] + _err,
    "secagg_ddp_decode": [c_char_p, c_void_p, c_int64, c_double, c_void_p, c_int64] + _err,
    "secagg_epsilon": [c_double, c_double, c_int64, c_double, c_int, _DP, _DP] + _err,
    "secagg_noise_multiplier": [c_double, c_double, c_int64, c_double, c_int, _DP] + _err,
    "secagg_version": [c_char_p, c_int64],
    "secagg_kernels": [c_char_p, c_int64],
}
for _name, _args in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.argtypes, _fn.restype = _args, c_int
lib.secagg_set_threads.argtypes, lib.secagg_set_threads.restype = [c_int64], c_int64
