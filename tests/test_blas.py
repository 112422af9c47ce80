"""The BLAS routines called from compiled code against the obvious NumPy reference."""
import numpy as np
import pytest
from numba import njit

from incipoly.kernels.blas import syrk_lower
from incipoly.kernels.cpu import _gram_blas

import naive


@njit
def _lower(W, G):
    syrk_lower(W, G)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("n, m", [(1, 1), (1, 9), (7, 3), (37, 91), (256, 1024)])
def test_syrk_lower_fills_only_the_lower_triangle(n, m, dtype, tol):
    W = np.random.default_rng(n * m).standard_normal((n, m)).astype(dtype)
    sentinel = 123.0
    G = np.full((n, n), sentinel, dtype)
    _lower(W, G)
    ref = naive.gram(W)
    low = np.tril_indices(n)
    assert np.allclose(G[low], ref[low], rtol=tol, atol=tol * np.sqrt(m))
    assert np.all(G[np.triu_indices(n, 1)] == sentinel)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_gram_blas_is_the_full_symmetric_gram(dtype, tol):
    W = np.random.default_rng(3).standard_normal((48, 96)).astype(dtype)
    G = np.empty((48, 48), dtype)
    _gram_blas(W, G)
    assert np.array_equal(G, G.T)
    assert np.allclose(G, naive.gram(W), rtol=tol, atol=tol * 10)


def test_syrk_lower_refuses_non_contiguous_arrays():
    W = np.ones((4, 6))
    with pytest.raises(Exception, match="syrk_lower"):
        _lower(W[:, ::2], np.empty((4, 4)))
