"""From passages to an Index: cut each passage into words once, count its terms, weigh the fields, find copies.

Two steps, kept apart so that a corpus change redoes only the first for the
files it touches:

1. *Analysis*, per file: each passage is cut into words (jieba-rs, one pass
   that also notes the word graph for the lexicon), its words, characters and
   character pairs are counted, and its copy fingerprint is taken. Files are
   analysed on every core in worker processes.
2. *Assembly*, over the whole corpus: term counts → BM25 weights
   (`bm25.weigh`), fingerprints → groups of copies, graph words →
   lexicon. Pure numpy; its result depends only on the passages, in corpus
   order, so an index updated file by file equals a full rebuild.

`CorpusTerms` is what the store keeps between the two: each file's term counts
(term ids into per-field vocabularies that only grow, so stored ids stay
valid) and fingerprints, and how many files' word graphs hold each dictionary
word.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import metadata
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import NamedTuple

import numpy as np

from retrieval.ingest.chunking import Chunk
from retrieval.ingest.corpus import Corpus, corpus_files, file_tags, load_file
from retrieval.ingest.describe import describe
from retrieval.ingest.speeches import Speech
from retrieval.keys import text_key
from retrieval.lexical.bm25 import BM25Field, FieldArrays, TermCounts, char_codes, counted, weigh, word_code
from retrieval.lexical.duplicates import duplicate_groups, fingerprints
from retrieval.lexical.index import FIELDS, Index
from retrieval.lexical.segmenter import (
    LEXICON_DIR,
    USER_DICT,
    GraphRecorder,
    Lexicon,
    Segmenter,
    dictionary_freqs,
    dictionary_words,
    graph_recorder,
    lexicon_from,
)
from retrieval.lexical.text import char_text, fold_chars, stopwords
from retrieval.lexical.text import word_tokens as passage_word_tokens

Progress = Callable[[int, int], None]  # (files done, files in all)

# The character fields are only ever compared within a question, so single precision does; the
# word field, held to rank-bm25's scores in the tests, keeps double.
FIELD_DTYPES = {"words": "float64", "unigrams": "float32", "bigrams": "float32"}

# Raise when what a passage's terms are changes in code (tokenizing, folding, fingerprints): stored
# analyses made otherwise are then not mixed with new ones (see analysis_key).
ANALYSIS_VERSION = 2  # 2: control and bidi characters stripped at reading, zero-width ones dropped in the fold

# Below this much text, worker processes cost more to start than they save.
PARALLEL_MIN_BYTES = 2_000_000
# Batches of files each worker process has queued (more keeps the cores busy, fewer holds less memory).
IN_FLIGHT = 3
# Files' term codes are turned into vocabulary ids this many term entries at a time.
ID_BATCH = 2_000_000


@dataclass(frozen=True)
class PassageTerms:
    """A passage's terms: its word tokens and its folded characters."""

    words: list[str]
    chars: str


def segmented_texts(chunk: Chunk) -> list[str]:
    """The texts of a passage that are cut into words: its search form, and its own words if it was spun."""
    search_text = chunk.search_text  # for a passage not spun, its text folded character by character
    return [search_text, chunk.text] if chunk.spun and search_text != fold_chars(chunk.text) else [search_text]


def passage_terms(chunk: Chunk, segmenter: Segmenter) -> PassageTerms:
    """Terms of the search form; a spun passage keeps its own words beside the read-back ones."""
    words: list[str] = []
    for text in segmented_texts(chunk):
        seen = set(words)
        words += [w for w in passage_word_tokens(text, segmenter) if w not in seen]
    return PassageTerms(words, char_text(chunk.search_text))


def content_key(chars: str) -> int:
    """A passage's key by its characters (copies and re-uploads are told by it), as an SQLite integer."""
    return text_key(chars)


@cache
def analysis_key() -> str:
    """What passage analyses depend on besides the code: the domain words, the stopwords, jieba-rs's version."""
    digest = hashlib.sha256(f"{ANALYSIS_VERSION}\n{metadata.version('rjieba')}\n".encode())
    for path in (USER_DICT, LEXICON_DIR / "stopwords.txt"):
        digest.update(path.read_bytes() if path.is_file() else b"-")
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- analysis


@dataclass
class FileCodes:
    """One file's passages as analysed: per field (term codes, counts, distinct terms per passage), fingerprints."""

    codes: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    shingles: np.ndarray  # uint64
    shingle_sizes: np.ndarray  # uint32
    content_keys: list[int]
    graph_words: str  # the dictionary words of the passages' word graphs, one a line

    @property
    def entries(self) -> int:
        return sum(len(c) for c, _, _ in self.codes.values())


class _WordCodes(dict[str, int]):
    """Word → code, computed once per word in a process (corpora repeat their words)."""

    def __missing__(self, word: str) -> int:
        code = self[word] = word_code(word)
        return code


_word_codes = _WordCodes()


def analyze_chunks(chunks: Sequence[Chunk], recorder: GraphRecorder | None = None) -> FileCodes:
    """Cut, count and fingerprint passages (one jieba pass each, which also notes their word graphs)."""
    recorder = recorder or graph_recorder()
    recorder.words.clear()
    word_codes, word_tf, word_sizes = [], [], []
    char_texts = []
    for chunk in chunks:
        terms = passage_terms(chunk, recorder)
        words = Counter(terms.words)
        word_codes.append(np.fromiter(map(_word_codes.__getitem__, words), dtype=np.uint64, count=len(words)))
        word_tf.append(np.fromiter(words.values(), dtype=np.uint16, count=len(words)))
        word_sizes.append(len(words))
        char_texts.append(terms.chars)
    n = len(char_texts)
    lengths = np.fromiter((len(t) for t in char_texts), dtype=np.int64, count=n)
    points = char_codes("".join(char_texts))
    passage = np.repeat(np.arange(n, dtype=np.uint64), lengths)
    kept = ~np.isin(points, _stop_points())  # as char_unigrams drops them
    pair = passage[:-1] == passage[1:]  # character pairs within one passage
    codes = {
        "words": (
            np.concatenate(word_codes) if n else np.zeros(0, np.uint64),
            np.concatenate(word_tf) if n else np.zeros(0, np.uint16),
            np.array(word_sizes, dtype=np.uint32),
        ),
        "unigrams": _counted_by_passage(passage[kept], points[kept], n),
        "bigrams": _counted_by_passage(passage[:-1][pair], (points[:-1][pair] << np.uint64(21)) | points[1:][pair], n),
    }
    shingles, shingle_sizes = fingerprints(char_texts)
    graph = "\n".join(dictionary_words(recorder.words))
    return FileCodes(codes, shingles, shingle_sizes, [content_key(t) for t in char_texts], graph)


@cache
def _stop_points() -> np.ndarray:
    return np.array(sorted(ord(w) for w in stopwords() if len(w) == 1), dtype=np.uint64)


def _counted_by_passage(passage: np.ndarray, codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each passage's distinct codes (under 2**42) and their counts, passage after passage: one sort for all."""
    keys, counts = counted((passage << np.uint64(42)) | codes)
    sizes = np.bincount((keys >> np.uint64(42)).astype(np.int64), minlength=n).astype(np.uint32)
    return keys & np.uint64((1 << 42) - 1), counts, sizes


@dataclass
class FileAnalysis:
    name: str
    speeches: list[Speech]
    chunks: list[Chunk]
    problem: str | None
    codes: FileCodes | None


class FileJob(NamedTuple):
    """A file to analyse: where to read it, its tag, and its name in the corpus (a staged copy's differs)."""

    path: Path
    tag: str
    name: str


def analyze_file(job: FileJob) -> FileAnalysis:
    """Read, split, chunk and analyse one file (in a worker process for a full build)."""
    speeches, chunks, problem = load_file(job.path, job.tag, job.name)
    if problem:
        return FileAnalysis(job.name, [], [], problem, None)
    codes = analyze_chunks(chunks)
    return FileAnalysis(job.name, speeches, chunks, None, codes)


def _analyses(jobs: list[FileJob], workers: int | None) -> Iterator[FileAnalysis]:
    """Each job's analysis, in order: on every core when the corpus is large enough to pay for it."""
    workers = workers if workers is not None else len(os.sched_getaffinity(0))
    size = sum(job.path.lstat().st_size for job in jobs)
    if workers < 2 or len(jobs) < 2 or size < PARALLEL_MIN_BYTES or not _can_spawn():
        yield from map(analyze_file, jobs)
        return
    size = max(1, min(16, len(jobs) // (workers * 8)))
    batches = iter([jobs[k : k + size] for k in range(0, len(jobs), size)])
    # spawn, not fork: the caller runs threads (asyncio's, SQLite's) that a fork would copy mid-step.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        # A few batches in flight, not all of them: results the caller has not taken yet wait in memory,
        # and the caller shares the cores with the workers.
        pending = deque(pool.submit(_analyze_batch, batch) for batch in islice(batches, workers * IN_FLIGHT))
        while pending:
            done = pending.popleft().result()
            following = next(batches, None)
            if following is not None:
                pending.append(pool.submit(_analyze_batch, following))
            yield from done


def _analyze_batch(jobs: list[FileJob]) -> list[FileAnalysis]:
    return [analyze_file(job) for job in jobs]


def _can_spawn() -> bool:
    """Whether a spawned worker can import what this process runs as __main__ (not so for code read from stdin)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return getattr(main, "__spec__", None) is not None or path is None or Path(path).is_file()


# --------------------------------------------------------------------------- the corpus's terms


class Vocabulary:
    """A field's term codes in the order first met: a term's id is its place, stable as terms are added.

    Terms that no passage holds any more keep their id; the assembly leaves them out.
    """

    def __init__(self, codes: np.ndarray | None = None) -> None:
        self.codes = np.zeros(0, np.uint64) if codes is None else np.asarray(codes, dtype=np.uint64)
        self._order = np.argsort(self.codes, kind="stable").astype(np.uint32)
        self._sorted = self.codes[self._order]

    def ids(self, codes: np.ndarray) -> np.ndarray:
        """The ids of these codes, new codes getting the next ids."""
        unique, inverse = np.unique(codes, return_inverse=True)
        at = np.searchsorted(self._sorted, unique)
        found = at < len(self._sorted)
        found[found] = self._sorted[at[found]] == unique[found]
        ids = np.empty(len(unique), dtype=np.uint32)
        ids[found] = self._order[at[found]]
        new = unique[~found]
        if len(self.codes) + len(new) > np.iinfo(np.uint32).max:
            raise OverflowError("more than 2**32 distinct terms in one field")
        new_ids = np.arange(len(self.codes), len(self.codes) + len(new), dtype=np.uint32)
        ids[~found] = new_ids
        if len(new):
            self.codes = np.concatenate([self.codes, new])
            self._sorted = np.insert(self._sorted, at[~found], new)
            self._order = np.insert(self._order, at[~found], new_ids)
        return ids[inverse.reshape(-1)]


@dataclass
class FileTerms:
    """One file's passages as the store keeps them: per field term counts (vocabulary ids), fingerprints."""

    counts: dict[str, TermCounts]
    shingles: np.ndarray
    shingle_sizes: np.ndarray

    @property
    def passages(self) -> int:
        return len(self.shingle_sizes)


@dataclass
class CorpusTerms:
    """All files' terms in corpus order, the vocabularies their ids point into, and the corpus's graph words."""

    files: dict[str, FileTerms] = field(default_factory=dict)
    vocabularies: dict[str, Vocabulary] = field(default_factory=lambda: {name: Vocabulary() for name in FIELDS})
    graph_files: Counter[str] = field(default_factory=Counter)  # dictionary word → files whose graphs hold it
    freqs: dict[str, int] = field(default_factory=dict)  # the dictionary frequency of each word of graph_files

    def add(self, files: Sequence[tuple[str, FileCodes]]) -> list[str]:
        """Take in analysed files (codes → ids); the dictionary words new to the corpus.

        Each array of the batch is joined into one and the files get views of it: a few large blocks
        instead of thousands of small ones, so memory let go of later goes back to the system.
        """
        if not files:
            return []
        shingles = _joined([codes.shingles for _, codes in files])
        shingle_sizes = _joined([codes.shingle_sizes for _, codes in files])
        for (name, _), file_shingles, file_sizes in zip(files, shingles, shingle_sizes, strict=True):
            self.files[name] = FileTerms({}, file_shingles, file_sizes)
        for field_name in FIELDS:
            joined = np.concatenate([codes.codes[field_name][0] for _, codes in files])
            bounds = np.cumsum([len(codes.codes[field_name][0]) for _, codes in files])[:-1]
            ids = np.split(self.vocabularies[field_name].ids(joined), bounds)
            tf = _joined([codes.codes[field_name][1] for _, codes in files])
            sizes = _joined([codes.codes[field_name][2] for _, codes in files])
            for (name, _), *arrays in zip(files, ids, tf, sizes, strict=True):
                self.files[name].counts[field_name] = TermCounts(*arrays)
        before = len(self.graph_files)
        for _, codes in files:
            if codes.graph_words:
                self.graph_files.update(codes.graph_words.split("\n"))  # Counter.update: counted in C
        return list(islice(self.graph_files, before, None))  # a dict lists keys in the order they came

    def remove(self, name: str, graph_words: Iterable[str]) -> None:
        """Drop a file: its terms, and its share of the graph words (as its analysis gives them again;
        words that are not the dictionary's, never counted, are passed over)."""
        del self.files[name]
        for word in graph_words:
            if word not in self.graph_files:
                continue
            held = self.graph_files[word] - 1
            if held > 0:
                self.graph_files[word] = held
            else:
                self.graph_files.pop(word, None)
                self.freqs.pop(word, None)

    def sort(self) -> None:
        """Files in corpus order (by name), as the index lists their passages."""
        self.files = dict(sorted(self.files.items()))

    def look_up(self, words: Iterable[str]) -> None:
        """Fill in the dictionary frequency of graph words not yet known."""
        missing = [w for w in words if w not in self.freqs]
        if missing:
            self.freqs.update(dictionary_freqs(missing))

    def fields(self, keep: Collection[str] | None = None) -> dict[str, FieldArrays]:
        """The three BM25 fields. With `keep`, other files' counts are let go of as soon as they are used,
        so a large corpus never holds its counts twice (per file and joined) nor beside its weights."""
        fields = {}
        for name in sorted(FIELDS, key=lambda f: f != "bigrams"):  # the largest while least else is held
            counts = TermCounts.concat([f.counts[name] for f in self.files.values()])
            if keep is not None:
                for file_name, terms in self.files.items():
                    if file_name not in keep:
                        del terms.counts[name]
                give_back_freed_memory()
            rows = weigh(counts, self.vocabularies[name].codes, FIELD_DTYPES[name])
            del counts
            fields[name] = rows.to_field()
        return {name: fields[name] for name in FIELDS}

    def duplicates(self, content_keys: Sequence[int]) -> np.ndarray:
        files = list(self.files.values())
        shingles = np.concatenate([f.shingles for f in files]) if files else np.zeros(0, np.uint64)
        sizes = np.concatenate([f.shingle_sizes for f in files]) if files else np.zeros(0, np.uint32)
        return duplicate_groups(shingles, sizes, np.asarray(content_keys, dtype=np.int64))

    def lexicon(self) -> Lexicon:
        return lexicon_from({w: self.freqs[w] for w in self.graph_files if self.freqs.get(w)})

    def index(
        self,
        speeches: Sequence[Speech],
        chunks: Sequence[Chunk],
        content_keys: Sequence[int],
        duplicate_of: Sequence[int] | np.ndarray | None = None,
        lexicon: Lexicon | None = None,
        keep: Collection[str] | None = None,
    ) -> Index:
        """The Index of these passages (in corpus order, as the files hold them).

        Copies and the lexicon are worked out unless given (start-up reads them from the store). With
        `keep`, the terms of files not in it are let go of on the way (they are in the store already).
        """
        passages = sum(f.passages for f in self.files.values())
        if passages != len(chunks) or len(content_keys) != len(chunks):
            raise ValueError(f"{len(chunks)} passages but terms for {passages}")
        groups = self.duplicates(content_keys) if duplicate_of is None else np.asarray(duplicate_of)
        if keep is not None:
            for name, terms in self.files.items():
                if name not in keep:
                    terms.shingles = np.zeros(0, np.uint64)  # not a view: the block it came from can go
            give_back_freed_memory()
        fields = {name: BM25Field(arrays) for name, arrays in self.fields(keep).items()}
        return Index(speeches, chunks, fields, groups.tolist(), lexicon or self.lexicon(), content_keys)


def give_back_freed_memory() -> None:
    """Return the heap's free pages to the system (glibc's malloc_trim; elsewhere nothing).

    The files' count blocks (a few MB each) live on the heap, and the weight arrays that replace them
    (tens of MB) are mapped apart, so without this the freed counts stay resident under the new weights:
    270 MB of the build's peak at 100k passages.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes

    try:  # the process's own symbols, libc's among them (ctypes.util.find_library would fork a helper)
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
        return trim
    except (OSError, AttributeError):  # not glibc
        return None


def _joined(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """The arrays copied into one, as views of it."""
    return np.split(np.concatenate(arrays), np.cumsum([len(a) for a in arrays])[:-1])


def graph_words_of(chunks: Sequence[Chunk]) -> set[str]:
    """The words of these passages' word graphs as their analysis noted them, dictionary words among others."""
    recorder = graph_recorder()
    recorder.words.clear()
    for chunk in chunks:
        passage_terms(chunk, recorder)
    return recorder.words


# --------------------------------------------------------------------------- whole builds


@dataclass(frozen=True)
class FilePassages:
    """One file's speeches and passages, with each passage's content key: its rows in the store."""

    name: str
    speeches: list[Speech]
    chunks: list[Chunk]
    content_keys: list[int]


@dataclass
class BuiltCorpus:
    """A corpus analysed, not yet assembled (so that its files can be stored first, then let go of)."""

    corpus: Corpus  # its passages, problems and every file's tag
    terms: CorpusTerms
    files: list[FilePassages]
    content_keys: list[int]

    def assemble(self, keep: Collection[str] | None = None) -> Index:
        """The Index; with keep=(), each file's terms are let go of as soon as they are used."""
        return self.terms.index(self.corpus.speeches, self.corpus.chunks, self.content_keys, keep=keep)


def build_corpus(
    data_dir: Path,
    known_tags: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    entries: Sequence[tuple[Path, str]] | None = None,
) -> BuiltCorpus:
    """Read and analyse every corpus file of data_dir; a bad file is reported by name and skipped.

    `entries` (where to read, name in the corpus) replaces the folder's listing: the folder as a change
    will leave it. File tags are settled (and checked) before any file is read, so a clash cannot surface late.
    """
    listed = entries if entries is not None else [(p, p.name) for p in corpus_files(data_dir)]
    corpus = Corpus(tags=file_tags([name for _, name in listed], known_tags))
    files = [FileJob(path, corpus.tags[name], name) for path, name in listed]
    terms = CorpusTerms()
    keys: list[int] = []
    passages: list[FilePassages] = []
    batch: list[tuple[str, FileCodes]] = []
    pending = 0
    for done, analysis in enumerate(_analyses(files, workers), start=1):
        if analysis.codes is None:
            corpus.problems.append(analysis.problem or f"{analysis.name}: not read")
        else:
            corpus.speeches.extend(analysis.speeches)
            corpus.chunks.extend(analysis.chunks)
            keys.extend(analysis.codes.content_keys)
            passages.append(
                FilePassages(analysis.name, analysis.speeches, analysis.chunks, analysis.codes.content_keys)
            )
            batch.append((analysis.name, analysis.codes))
            pending += analysis.codes.entries
            if pending >= ID_BATCH:
                terms.add(batch)
                batch, pending = [], 0
        if progress:
            progress(done, len(files))
    terms.add(batch)
    terms.look_up(terms.graph_files)
    titled = {s.id: replace(s, lines=()) for s in describe(corpus.speeches)}  # titles need every speech's text
    corpus.speeches = list(titled.values())
    passages = [replace(f, speeches=[titled[s.id] for s in f.speeches]) for f in passages]
    return BuiltCorpus(corpus, terms, passages, keys)


def build_index(speeches: Sequence[Speech], chunks: Sequence[Chunk], progress: Progress | None = None) -> Index:
    """The Index of passages given in memory (in this order), analysed in this process."""
    terms = CorpusTerms()
    codes = analyze_chunks(chunks)
    terms.add([("", codes)])
    terms.look_up(terms.graph_files)
    if progress:
        progress(1, 1)
    return terms.index(speeches, chunks, codes.content_keys)
