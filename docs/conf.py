"""Sphinx configuration for the incipoly documentation.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors). The API
reference, the command-line help and the theory pages are generated at build time by
``docs/_ext/incipoly_docs.py`` from the package's ``__all__`` lists, the argparse parser and
``theory/README.md``, so they follow the code without hand-kept lists.
"""
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))          # document this checkout, not an installed copy
sys.path.insert(0, str(DOCS / "_ext"))
# the notebooks run in a kernel that inherits the environment: make it import this checkout too
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

import incipoly  # noqa: E402

project = "incipoly"
author = "incipoly developers"
copyright = "incipoly developers"
release = incipoly.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_copybutton",
    "myst_nb",
    "incipoly_docs",
]

# cli/ and _*.md are generated fragments that pages {include}; not pages themselves
exclude_patterns = ["_build", "**.ipynb_checkpoints", "jupyter_execute", "cli", "**/_*.md"]
templates_path = []
html_static_path = ["_static"]
html_theme = "pydata_sphinx_theme"
html_title = f"incipoly {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "icon_links": [
        {"name": "arXiv 2312.03096", "url": "https://arxiv.org/abs/2312.03096",
         "icon": "fa-solid fa-file-lines"},
    ],
}
html_sidebars = {"index": []}

# docstrings are numpydoc-style; napoleon reads them and tolerates small variations
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_default_options = {"show-inheritance": False}

# MyST: $…$ and $$…$$ math, amsmath environments, ::: fences
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# Notebooks (MyST markdown, .md with mystnb front matter) run during every build.
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = False
nb_output_stderr = "remove"          # compile notes and progress bars
