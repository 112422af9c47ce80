"""Grid files (TOML or JSON) → Configs, and the per-config summary table of a sweep store.

A grid file holds :class:`~incipoly.Config` fields at its top level. A list of values expands
to one config per value; scalars are fixed; the configs are the Cartesian product of the
lists, the later field (in Config's field order) varying fastest::

    n_features = 32
    n_hidden = [32, 64, 128]     # 3 widths
    l1 = [1e-3, 1e-2]            # × 2 strengths = 6 configs
    steps = 7500

Every entry is validated before anything runs; an unknown field, an empty list or a bad value
raises ValueError naming the file and the field.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np

from ..config import Config
from .files import table_of_rows, write_csv

#: Columns of the summary: per-seed fields of :meth:`incipoly.Run.summary` (mean ± SE each).
SUMMARY_FIELDS = ("polysemantic", "init_same_sign_pairs", "init_mixed_neurons",
                  "winner_is_initial_argmax", "final_loss")
CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(Config))


def _parse(path: Path) -> dict:
    """The file's top-level table: JSON for ``*.json``, TOML otherwise."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"grid file {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:          # Python 3.10: the tomli backport
                import tomli as tomllib
            data = tomllib.loads(text)
    except ValueError as exc:                    # TOMLDecodeError, JSONDecodeError
        raise ValueError(f"grid file {path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'}"
                         f" ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"grid file {path}: must hold a table of Config fields, "
                         f"holds {type(data).__name__}")
    return data


def _values(path, name, value) -> list:
    """The checked values of one field: a list's items or the one scalar."""
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ValueError(f"grid file {path}: field {name}: empty list (give at least one value)")
    for v in values:
        if isinstance(v, (list, dict)):
            raise ValueError(f"grid file {path}: field {name}: values must be scalars or one "
                             f"flat list; got {value!r}")
        try:
            Config(**{name: v})
        except (ValueError, TypeError) as exc:
            raise ValueError(f"grid file {path}: field {name}: {exc}") from None
    return values


def expand_grid(data: dict, path="<grid>") -> list:
    """Configs of the Cartesian product of ``data``'s lists (scalars fixed), in field order.

    Parameters
    ----------
    data : dict
        Config field → value or list of values.
    path : str
        Named in error messages.

    Returns
    -------
    list of Config

    Raises
    ------
    ValueError
        For an unknown field, an empty list or a bad value (naming ``path`` and the field).

    Examples
    --------
    >>> from incipoly.stores.grids import expand_grid
    >>> expand_grid({"n_features": 3, "n_hidden": [4, 8], "steps": 20})  # doctest: +NORMALIZE_WHITESPACE
    [Config(n_features=3, n_hidden=4, steps=20, optimizer='adamw'),
     Config(n_features=3, n_hidden=8, steps=20, optimizer='adamw')]
    """
    unknown = sorted(set(data) - set(CONFIG_FIELDS))
    if unknown:
        raise ValueError(f"grid file {path}: unknown field {unknown[0]!r}; accepted: "
                         f"{', '.join(CONFIG_FIELDS)}")
    names = [n for n in CONFIG_FIELDS if n in data]
    axes = [_values(path, n, data[n]) for n in names]
    configs = []
    for combo in itertools.product(*axes):
        try:
            configs.append(Config(**dict(zip(names, combo))))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"grid file {path}: {exc}") from None
    return configs


def read_grid(path) -> list:
    """The configs of the grid file ``path`` (TOML, or JSON for ``*.json``).

    Raises
    ------
    ValueError
        If the file cannot be read or parsed, or a field is unknown, empty or has a bad value;
        the message names the file and the field.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    list of Config

    Examples
    --------
    >>> from incipoly.stores import grids
    >>> _ = open("grid.toml", "w").write("n_features = 3\\nn_hidden = [4, 8]\\nsteps = 20\\nlr = 0.01\\n")
    >>> [c.n_hidden for c in grids.read_grid("grid.toml")]
    [4, 8]
    """
    path = Path(path)
    return expand_grid(_parse(path), path)


def summary_rows(st) -> list:
    """One row per config of the :class:`~incipoly.SweepStore` ``st``: every Config field,
    ``seeds`` (finished), and ``<field>_mean`` / ``<field>_se`` of :data:`SUMMARY_FIELDS`.

    Parameters
    ----------
    st : SweepStore

    Returns
    -------
    list of dict

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly.stores import grids
    >>> cfgs = grids.expand_grid({"n_features": 3, "n_hidden": [4, 8], "steps": 20, "lr": 0.01})
    >>> st = ip.sweep(cfgs, seeds=2, store="sweep-rows", progress=False)
    >>> [(r["config"], r["n_hidden"], r["seeds"]) for r in grids.summary_rows(st)]
    [(0, 4, 2), (1, 8, 2)]
    """
    from ..metrics import mean_se
    rows = []
    for c, cfg in enumerate(st.configs):
        res = st.result(c)
        row = {"config": c, **dataclasses.asdict(cfg), "seeds": len(res.get("seed", ()))}
        for key in SUMMARY_FIELDS:
            mean, se = mean_se(res[key]) if res else (np.nan, np.nan)
            row[f"{key}_mean"], row[f"{key}_se"] = float(mean), float(se)
        rows.append(row)
    return rows


def _pm(mean, se) -> str:
    return f"{mean:.4g} ± {'n/a' if np.isnan(se) else f'{se:.2g}'}"


def format_summary(rows) -> str:
    """Fixed-width table: config index, the Config fields that vary, seeds, mean ± SE columns.

    Parameters
    ----------
    rows : list of dict
        From :func:`summary_rows`.

    Returns
    -------
    str

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly.stores import grids
    >>> cfgs = grids.expand_grid({"n_features": 3, "n_hidden": [4, 8], "steps": 20, "lr": 0.01})
    >>> st = ip.sweep(cfgs, seeds=2, store="sweep-table", progress=False)
    >>> print(grids.format_summary(grids.summary_rows(st)))  # doctest: +ELLIPSIS
    fixed: n_features=3 steps=20 optimizer=adamw lr=0.01 ...
    config  n_hidden  seeds  polysemantic ...
         0         4      2 ...
    """
    varying = [n for n in CONFIG_FIELDS if len({r[n] for r in rows}) > 1]
    head = ["config", *varying, "seeds", *SUMMARY_FIELDS]
    body = [[str(r["config"]), *(str(r[n]) for n in varying), str(r["seeds"]),
             *(_pm(r[f"{k}_mean"], r[f"{k}_se"]) for k in SUMMARY_FIELDS)] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(x.rjust(w) for x, w in zip(line, widths)) for line in [head, *body]]
    fixed = [f"{n}={rows[0][n]}" for n in CONFIG_FIELDS if n not in varying]
    return "\n".join([f"fixed: {' '.join(fixed)}", *lines])


def write_summary_csv(rows, path) -> Path:
    """Write the rows of :func:`summary_rows` to ``path`` atomically (floats to 10 digits).

    Parameters
    ----------
    rows : list of dict
    path : path-like

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly.stores import grids
    >>> cfgs = grids.expand_grid({"n_features": 3, "n_hidden": [4, 8], "steps": 20, "lr": 0.01})
    >>> st = ip.sweep(cfgs, seeds=2, store="sweep-csv", progress=False)
    >>> grids.write_summary_csv(grids.summary_rows(st), "summary.csv").name
    'summary.csv'
    """
    return write_csv(path, table_of_rows(rows))


__all__ = ["read_grid", "expand_grid", "summary_rows", "format_summary", "write_summary_csv"]
