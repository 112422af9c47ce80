"""Validation: one ValueError per bad field and per bad W0; JSON round trip."""
import math

import numpy as np
import pytest

import incipoly as ip

BAD_FIELDS = [
    ("n_features", 0), ("n_features", 2.5), ("n_features", True),
    ("n_hidden", 0), ("n_hidden", "8"),
    ("steps", -1),
    ("optimizer", "adam"),
    ("lr", 0.0), ("lr", -1e-3), ("lr", math.inf), ("lr", math.nan),
    ("l1", -1e-3), ("l1", math.nan),
    ("weight_decay", -0.1), ("weight_decay", math.inf),
    ("noise", "pink"),
    ("noise_std", -0.1), ("noise_std", "x"),
    ("init", "kaiming"),
    ("dtype", "float16"),
]


@pytest.mark.parametrize("field,value", BAD_FIELDS)
def test_bad_field_raises_value_error_naming_it(field, value):
    with pytest.raises(ValueError, match=field):
        ip.Config(**{field: value})


def test_json_round_trip():
    cfg = ip.Config(n_features=7, n_hidden=3, steps=11, optimizer="gd-prox", lr=0.3, l1=0.01,
                    noise="laplace", noise_std=0.2, init="xavier", dtype="float64")
    assert ip.Config.from_json(cfg.to_json()) == cfg


def test_unknown_json_field_rejected():
    with pytest.raises(ValueError, match="unknown field"):
        ip.Config.from_dict({"n_features": 3, "colour": "red"})


@pytest.mark.parametrize("optimizer,torch_name", [("adamw", "AdamW"), ("sgd", "SGD"),
                                                  ("gd-prox", "SGD")])
def test_weight_decay_defaults_follow_torch(optimizer, torch_name):
    """``weight_decay=None`` resolves to the default of torch's own optimizer (gd-prox: SGD's)."""
    torch = pytest.importorskip("torch", reason="torch is the [bench] extra, which CI installs")
    import inspect
    wd = inspect.signature(getattr(torch.optim, torch_name)).parameters["weight_decay"].default
    assert ip.Config(optimizer=optimizer).weight_decay == wd
    assert ip.Config(optimizer=optimizer, weight_decay=None).weight_decay == wd
    assert ip.Config(optimizer=optimizer, weight_decay=0.3).weight_decay == 0.3


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        ip.Config().lr = 1.0


CFG = ip.Config(n_features=3, n_hidden=4, steps=2)


@pytest.mark.parametrize("W0,message", [
    (np.zeros((3, 5)), "shape"),
    (np.zeros((2, 3, 4, 1)), "shape"),
    (np.full((3, 4), np.nan), "finite"),
    (np.full((3, 4), np.inf), "finite"),
    (np.full((3, 4), "a"), "real array"),
])
def test_bad_W0_raises(W0, message):
    with pytest.raises(ValueError, match=message):
        ip.train(CFG, seeds=2, W0=W0, progress=False)


@pytest.mark.parametrize("seeds", [0, -3, [], [1, 1], [-1], "abc", [1.5]])
def test_bad_seeds_raise(seeds):
    with pytest.raises(ValueError, match="seeds"):
        ip.train(CFG, seeds=seeds, progress=False)


@pytest.mark.parametrize("kwargs,field", [
    ({"backend": "tpu"}, "backend"), ({"record": 1}, "record"), ({"record": [0, 99]}, "record"),
    ({"active_tol": -1}, "active_tol"), ({"chunk_steps": 0}, "chunk_steps"),
])
def test_bad_train_arguments_raise(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ip.train(CFG, seeds=1, progress=False, **kwargs)


def test_config_must_be_a_config():
    with pytest.raises(ValueError, match="config"):
        ip.train({"n_features": 3}, progress=False)
