"""Where an installation keeps what admins change: the corpus folder and the store, in the user's data directory.

Never under the installed package (a new virtualenv would lose every upload) and never under the working
directory (each new one would build a store of its own). platformdirs gives the platform's place:
~/.local/share/speechbot on Linux ($XDG_DATA_HOME/speechbot when that is set). On first use the corpus
folder there is seeded from the bundled corpus.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import platformdirs

from retrieval.ingest.sources import SUPPORTED_SUFFIXES
from retrieval.resources import BUNDLED_DATA_DIR

log = logging.getLogger(__name__)

APP_NAME = "speechbot"
CORPUS_FOLDER = "corpus"
STORE_NAME = "speechbot.sqlite3"
# What a seeded corpus takes from the bundled one besides its speeches: the shipped meaning vectors, so a
# new home answers by meaning at once instead of embedding the corpus first.
SEEDED_FOLDERS = ("embeddings",)


def data_home() -> Path:
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def default_data_dir() -> Path:
    return data_home() / CORPUS_FOLDER


def default_db_path() -> Path:
    return data_home() / STORE_NAME


def seed_corpus(target: Path, source: Path = BUNDLED_DATA_DIR) -> bool:
    """Copy the bundled corpus into `target` unless it exists; True if it was seeded now.

    The copy is made in a temporary folder beside the target and renamed into place, so a crash or a full
    disk never leaves half a corpus, and of two processes seeding at once one copy wins whole.
    """
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for path in sorted(source.iterdir()):
            if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
                shutil.copy2(path, staging / path.name)
            elif path.is_dir() and path.name in SEEDED_FOLDERS:
                shutil.copytree(path, staging / path.name)
        try:
            staging.rename(target)
        except OSError:
            if target.is_dir():  # another process seeded it first
                return False
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("seeded the corpus folder %s from the bundled corpus", target)
    return True
