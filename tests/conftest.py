import sys
from pathlib import Path

import numpy as np
import pytest

# tests import the readable references in tests/naive.py as `naive`.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
