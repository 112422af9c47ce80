"""Results on disk: runs, sweeps, and the machinery several writers share.

* :mod:`~incipoly.stores.files` — atomic writes, stale temporaries, the one CSV writer;
* :mod:`~incipoly.stores.run` — :class:`~incipoly.Run` and its directory (``save`` / ``load``);
* :mod:`~incipoly.stores.sweep_store` — a sweep's manifest and verified chunks (:class:`SweepStore`);
* :mod:`~incipoly.stores.claims` — who trains which chunk (claims, heartbeats, stale writers);
* :mod:`~incipoly.stores.chunks` — claim, train, write one chunk;
* :mod:`~incipoly.stores.sweeps` — :func:`~incipoly.sweep`: drive every chunk to done;
* :mod:`~incipoly.stores.cluster` — the same chunks as Dask tasks;
* :mod:`~incipoly.stores.grids` — grid files (TOML/JSON) in, summary tables out.

This package's ``__init__`` imports nothing, so its modules load in pipeline order.
"""

__all__: list[str] = []
