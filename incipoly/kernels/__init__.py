"""Compiled code only, one module per family: ``cpu`` (one-hot, @njit), ``sparse_cpu`` (minibatch
families), ``cuda`` / ``sparse_cuda`` (numba-cuda, imported lazily), ``noise`` (counter-based RNG
shared by every backend), ``blas`` (syrk from scipy's BLAS) and ``cache`` (the on-disk kernel cache
keyed on these sources). Nothing is imported here, so ``import incipoly`` compiles nothing."""

__all__: list[str] = []
