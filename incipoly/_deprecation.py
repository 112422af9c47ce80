"""Renamed arguments keep working for one release, with a DeprecationWarning naming the new name."""
from __future__ import annotations

import warnings


def renamed_argument(function: str, old: str, new: str, old_value, new_value):
    """The value of argument ``new`` of ``function`` when the caller may have used ``old``.

    ``old_value`` is ``None`` when the caller did not pass ``old``; otherwise it is returned (with a
    :class:`DeprecationWarning` naming ``new``) in place of ``new_value``.

    Raises
    ------
    TypeError
        If the caller passed both names (``new_value`` not at its default ``None``/``False``).
    """
    if old_value is None:
        return new_value
    warnings.warn(f"{function}({old}=...) is deprecated and will be removed; use {new}=...",
                  DeprecationWarning, stacklevel=3)
    if new_value not in (None, False):
        raise TypeError(f"{function}() got both {old!r} and its new name {new!r}; pass {new!r} only")
    return old_value


def warn_renamed(old: str, new: str) -> None:
    """Warn that ``old`` (a function, argument order, module …) is deprecated in favour of ``new``."""
    warnings.warn(f"{old} is deprecated and will be removed; use {new}", DeprecationWarning,
                  stacklevel=3)


__all__: list[str] = []
