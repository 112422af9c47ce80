"""Shared fixtures. pyproject's ``[tool.pytest.ini_options] pythonpath`` puts tests/ (for the
readable references ``naive`` and the CLI helper ``clitools``) and the repository root (for
``theory``) on the import path."""
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
