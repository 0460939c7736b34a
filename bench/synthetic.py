"""A deterministic synthetic corpus of about N passages, made from the bundled speeches' sentences.

The bundled corpus (data/*.txt) is read through the project's own ingestion
(`retrieval.ingest.corpus.load_corpus`, `retrieval.ingest.chunking.split_sentences`); its
sentences are then recombined at random into speech files shaped like the real
ones: a title line, a "同志们：" salutation, ~20 paragraphs of 2-6 sentences.
Fed back through `load_corpus` → chunking, the folder yields about
`target_chunks` passages (each speech's passages are counted with the chunker's
own packing and splitting rules while the files are written).

The vocabulary stays that of the bundled corpus, so the dev questions still
find answers, but term statistics are denser than in a real corpus of the same
size (every word recurs far more often): a pessimistic case for BM25 postings.

    python bench/synthetic.py 10000            # build (or reuse) and print the folder
    python bench/synthetic.py 10000 --verify   # also count chunks through load_corpus
    python bench/synthetic.py --archive 2000   # an archive's shape: 2,000 files sharing a title pattern

The archive shape is how real collections look, and what stresses the parts a
bench corpus of distinct titles never reaches: 2,000 files named
`synth_00000.txt…`, each titled `第N号质量工作会议讲话` (the same title but for
its number) and holding 50 paragraphs recombined from the bundled sentences,
some of them a recombined opening (`同志们：`) that starts another speech inside
the file, so the files split into about 3,600 speeches titled alike (about
70,000 passages).

Folders are cached by (target, seed, generator version, bundled data) under
$SPEECHBOT_BENCH_CACHE or <tmp>/speechbot-bench, so reruns are quick.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
# Run as a script, bench/ comes first on sys.path, and bench/retrieval.py would hide the retrieval package.
sys.path[:] = [str(PROJECT_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (BENCH_DIR, PROJECT_ROOT)]

from retrieval.ingest.chunking import _pack_short, _split_long, _units, is_heading, split_sentences  # noqa: E402
from retrieval.ingest.cleaning import FURNITURE_WORDS  # noqa: E402
from retrieval.ingest.corpus import file_tag, load_corpus, speeches_of_text  # noqa: E402
from retrieval.lexical.text import fold  # noqa: E402

BUNDLED_DATA = PROJECT_ROOT / "data"
GENERATOR_VERSION = 1
PARAGRAPHS_PER_SPEECH = 20
SENTENCES_PER_PARAGRAPH = (2, 6)
SALUTATION_LINE = "同志们："
TERMINAL = "。！？!?；;"
CLOSERS = '”’"」』）)'
TOPICS = ("质量工作", "质量强市", "食品安全", "标准化", "品牌建设", "安全生产", "质量监管", "产品质量")
MARKER = ".complete.json"
ARCHIVE_PARAGRAPHS = 50
# Share of an archive file's paragraphs that are a recombined opening: a further speech starts there.
ARCHIVE_OPENING_SHARE = 0.017


@dataclass(frozen=True)
class SentencePool:
    sentences: tuple[str, ...]
    fingerprint: str  # changes when the bundled corpus (or how it is read) changes


def default_cache_dir() -> Path:
    import os

    root = os.environ.get("SPEECHBOT_BENCH_CACHE")
    return Path(root) if root else Path(tempfile.gettempdir()) / "speechbot-bench"


def sentence_pool(data_dir: Path = BUNDLED_DATA) -> SentencePool:
    """Distinct body sentences of the bundled passages, in corpus order.

    Only sentences that end a sentence are kept (so a paragraph never ends like
    a heading), and none holding a word the cleaner takes for page furniture.
    """
    corpus = load_corpus(data_dir)
    seen: dict[str, None] = {}
    for chunk in corpus.chunks:
        for line in chunk.text.split("\n"):
            if not line.strip() or is_heading(line.strip()):
                continue
            for sentence in split_sentences(line):
                sentence = sentence.strip()
                if _usable(sentence):
                    seen.setdefault(sentence, None)
    sentences = tuple(seen)
    digest = hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()[:16]
    return SentencePool(sentences, digest)


def _usable(sentence: str) -> bool:
    body = sentence.rstrip(CLOSERS)
    return bool(body) and body[-1] in TERMINAL and not FURNITURE_WORDS.search(fold(sentence))


# With distinct=True each sentence placed is told apart by a tag of five of these (stems, branches and
# financial numerals: no word, no place), so a corpus's sentences are as many distinct texts as a real
# corpus's, each with a meaning vector of its own (bench/hybrid.py --passages), not a few thousand repeats.
TAG_CHARACTERS = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥壹贰叁肆伍陆柒捌玖拾佰仟"
TAG_LENGTH = 5


class Tagger:
    """Numbers the sentences it is given, in TAG_CHARACTERS, before their closing punctuation."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, sentence: str) -> str:
        self.count += 1
        number, digits = self.count, []
        for _ in range(TAG_LENGTH):
            number, digit = divmod(number, len(TAG_CHARACTERS))
            digits.append(TAG_CHARACTERS[digit])
        body = sentence.rstrip(CLOSERS)
        end = len(body) - 1  # the terminal character (_usable keeps only sentences ending in one)
        return sentence[:end] + "".join(digits) + sentence[end:]


def speech_text(rng: random.Random, pool: tuple[str, ...], number: int, tag: Tagger | None = None) -> str:
    """One synthetic speech file: title, salutation, paragraphs of random sentences."""
    title = f"合成讲话{number:05d}：在{rng.choice(TOPICS)}会议上的讲话"
    paragraphs = [
        "".join(
            tag(rng.choice(pool)) if tag else rng.choice(pool) for _ in range(rng.randint(*SENTENCES_PER_PARAGRAPH))
        )
        for _ in range(PARAGRAPHS_PER_SPEECH)
    ]
    return "\n".join([title, SALUTATION_LINE, *paragraphs]) + "\n"


def chunks_in(text: str, file_name: str) -> int:
    """Passages the ingestion path makes of one file: chunk_speech's rules, without folding every character."""
    count = 0
    for speech in speeches_of_text(text, file_name, file_tag(file_name)):
        count += sum(len(_split_long(unit)) for unit in _pack_short(_units(speech.lines)))
    return count


def file_name(number: int) -> str:
    return f"syn{number:05d}_speech.txt"


def _cache_key(target_chunks: int, seed: int, pool: SentencePool, distinct: bool = False) -> str:
    kind = "synthetic-distinct" if distinct else "synthetic"
    return f"{kind}-{target_chunks}-seed{seed}-v{GENERATOR_VERSION}-{pool.fingerprint}"


def _cached(folder: Path) -> dict | None:
    marker = folder / MARKER
    if not marker.is_file():
        return None
    return json.loads(marker.read_text(encoding="utf-8"))


def _write_speeches(folder: Path, target_chunks: int, seed: int, pool: tuple[str, ...], distinct: bool = False) -> dict:
    """Speech files until the predicted passage count reaches the target."""
    rng = random.Random(seed)
    tag = Tagger() if distinct else None
    chunks = files = 0
    while chunks < target_chunks:
        files += 1
        text = speech_text(rng, pool, files, tag)
        (folder / file_name(files)).write_text(text, encoding="utf-8")
        chunks += chunks_in(text, file_name(files))
    return {"target_chunks": target_chunks, "seed": seed, "files": files, "predicted_chunks": chunks}


def make_corpus(target_chunks: int, out_dir: Path, seed: int = 7, distinct: bool = False) -> Path:
    """A folder of about target_chunks passages under out_dir (cached by target and seed); its path.

    The same (target_chunks, seed) on the same bundled data gives byte-identical files. distinct=True
    tags every sentence placed (`Tagger`), so no two sentences are the same text.
    """
    if target_chunks < 1:
        raise ValueError("target_chunks must be at least 1")
    pool = sentence_pool()
    folder = Path(out_dir) / _cache_key(target_chunks, seed, pool, distinct)
    if _cached(folder) is not None:
        return folder
    building = folder.with_name(folder.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    facts = _write_speeches(building, target_chunks, seed, pool.sentences, distinct)
    facts["sentences_in_pool"] = len(pool.sentences)
    (building / MARKER).write_text(json.dumps(facts), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    building.rename(folder)
    return folder


def archive_text(rng: random.Random, pool: tuple[str, ...], number: int) -> str:
    """One archive file: 第N号质量工作会议讲话, an opening, 50 paragraphs, some of them openings again."""
    lines = [f"第{number}号质量工作会议讲话", SALUTATION_LINE]
    for _ in range(ARCHIVE_PARAGRAPHS):
        if rng.random() < ARCHIVE_OPENING_SHARE:
            lines.append(SALUTATION_LINE)
        lines.append("".join(rng.choice(pool) for _ in range(rng.randint(*SENTENCES_PER_PARAGRAPH))))
    return "\n".join(lines) + "\n"


def make_archive(files: int, out_dir: Path, seed: int = 7) -> Path:
    """A folder of `files` archive-shaped speech files (`synth_00000.txt`…) under out_dir, cached like
    make_corpus's; its path."""
    if files < 1:
        raise ValueError("files must be at least 1")
    pool = sentence_pool()
    folder = Path(out_dir) / f"archive-{files}-seed{seed}-v{GENERATOR_VERSION}-{pool.fingerprint}"
    if _cached(folder) is not None:
        return folder
    building = folder.with_name(folder.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    rng = random.Random(seed)
    for number in range(files):
        (building / f"synth_{number:05d}.txt").write_text(archive_text(rng, pool.sentences, number + 1), "utf-8")
    facts = {"archive_files": files, "seed": seed, "sentences_in_pool": len(pool.sentences)}
    (building / MARKER).write_text(json.dumps(facts), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    building.rename(folder)
    return folder


def corpus_facts(folder: Path) -> dict:
    """What make_corpus recorded about a folder (files, predicted chunks...)."""
    return _cached(folder) or {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("target_chunks", type=int, nargs="?", help="about this many passages")
    parser.add_argument("--archive", type=int, metavar="FILES", help="an archive's shape instead: FILES files")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--verify", action="store_true", help="count the chunks through load_corpus too")
    args = parser.parse_args()
    if (args.archive is None) == (args.target_chunks is None):
        parser.error("give a passage count or --archive FILES")
    if args.archive is not None:
        folder = make_archive(args.archive, args.out_dir, args.seed)
    else:
        folder = make_corpus(args.target_chunks, args.out_dir, args.seed)
    print(folder)
    print(json.dumps(corpus_facts(folder), ensure_ascii=False))
    if args.verify:
        corpus = load_corpus(folder)
        print(f"load_corpus: {len(corpus.speeches)} speeches, {len(corpus.chunks)} chunks, problems={corpus.problems}")


if __name__ == "__main__":
    main()
