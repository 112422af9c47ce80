"""The one version string; pyproject.toml reads it (``[tool.setuptools.dynamic]``)."""
#: The package version (PEP 440), also ``incipoly.__version__``.
__version__ = "0.1.0"
