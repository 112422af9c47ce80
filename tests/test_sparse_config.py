"""Validation of the sparse / untied / bias Config fields: one ValueError per bad value."""
import pytest

import incipoly as ip

SPARSE = dict(inputs="sparse", feature_prob=0.05)


@pytest.mark.parametrize("field,value,kind", [
    ("inputs", "dense", None), ("inputs", None, None),
    ("feature_prob", 0.0, "sparse"), ("feature_prob", 1.5, "sparse"), ("feature_prob", -0.1, "sparse"),
    ("feature_prob", float("nan"), "sparse"), ("feature_prob", "x", "sparse"),
    ("feature_prob", True, "sparse"),
    ("batch_size", 0, "sparse"), ("batch_size", 2.5, "sparse"), ("batch_size", True, "sparse"),
    ("importance", 0.0, None), ("importance", 1.01, None), ("importance", float("inf"), None),
    ("correlation", "pairs", "sparse"),
    ("bias", 1, None), ("bias", "yes", None), ("tied", 0, None), ("tied", None, None),
    ("noise_scope", "batch", None),
])
def test_bad_value_names_field_and_value(field, value, kind):
    base = SPARSE if kind == "sparse" else {}
    with pytest.raises(ValueError, match=field) as err:
        ip.Config(**{**base, field: value})
    assert repr(value) in str(err.value) or str(value) in str(err.value)


@pytest.mark.parametrize("field,value", [("feature_prob", 0.05), ("batch_size", 64),
                                         ("correlation", "correlated")])
def test_one_hot_refuses_sparse_only_fields(field, value):
    with pytest.raises(ValueError, match=rf"{field} applies to inputs='sparse' only"):
        ip.Config(**{field: value})


def test_anticorrelated_needs_p_at_most_half():
    ip.Config(inputs="sparse", feature_prob=0.5, correlation="anticorrelated")
    with pytest.raises(ValueError, match=r"feature_prob must be in \(0, 0.5\]"):
        ip.Config(inputs="sparse", feature_prob=0.51, correlation="anticorrelated")


def test_defaults_are_the_paper_model_and_keep_the_json():
    cfg = ip.Config()
    assert cfg.is_default_model
    assert set(cfg.to_dict()) == {"n_features", "n_hidden", "steps", "optimizer", "lr", "l1",
                                  "weight_decay", "noise", "noise_std", "init", "dtype"}
    assert ip.Config.from_json(cfg.to_json()) == cfg


@pytest.mark.parametrize("changes", [dict(importance=0.7), dict(bias=True), dict(tied=False),
                                     dict(noise_scope="example"),
                                     dict(inputs="sparse", feature_prob=0.1, batch_size=32,
                                          correlation="anticorrelated")])
def test_model_family_fields_round_trip(changes):
    cfg = ip.Config(**changes)
    assert not cfg.is_default_model
    assert ip.Config.from_json(cfg.to_json()) == cfg
    assert all(k in cfg.to_dict() for k in changes)


def test_options_that_apply_to_one_hot_are_accepted():
    cfg = ip.Config(importance=0.5, bias=True, tied=False, noise_scope="example")
    assert cfg.inputs == "one-hot" and cfg.batch_size == 1024 and cfg.feature_prob == 1.0
