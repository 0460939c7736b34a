"""Where the files that ship with the code are: the bundled corpus, the lexicon, models (the data/ folder).

In a source checkout (and an editable install) that is data/ beside the packages; a wheel installs the
same folder as the package `speechbot_data` (everything under data/ but data/removed/, see pyproject.toml).
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path


def bundled_data_dir() -> Path:
    checkout = Path(__file__).resolve().parent.parent / "data"
    if (checkout / "lexicon").is_dir():
        return checkout
    spec = find_spec("speechbot_data")  # a folder of files, not code: a namespace package
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("speechbot's data files are missing: reinstall the package")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


BUNDLED_DATA_DIR = bundled_data_dir()
LEXICON_DIR = BUNDLED_DATA_DIR / "lexicon"


def is_shipped(path: Path) -> bool:
    """Whether a folder is (or lies in) the files that ship with the code, which corpus changes never touch."""
    resolved = path.resolve()
    return resolved == BUNDLED_DATA_DIR or BUNDLED_DATA_DIR in resolved.parents
