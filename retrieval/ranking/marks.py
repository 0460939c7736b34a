"""What to mark in a passage for a question: its answering sentence and the question's rare words in it.

Search marks its hits itself; this marks a passage the reader opens later (its context, its speech's
page) for the question they came from, with the same rules. It cuts the question with jieba: callers
run it off the event loop (SearchService.passage_marks).
"""

from __future__ import annotations

from retrieval.excerpts import bold_spans, rare_words
from retrieval.ingest.chunking import Chunk
from retrieval.lexical.index import Index, analyze_query, best_sentence_span, term_spans


def passage_marks(index: Index, chunk: Chunk, question: str) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """(best sentence span, rare matched word spans) of the question in the passage, offsets into chunk.text."""
    query = analyze_query(question, index.segmenter)
    idfs = {w: idf or 0.0 for w, idf in index.word_idfs(query).items()}
    search_text = chunk.search_text
    matched = [w for w in dict.fromkeys(query.words) if w in search_text]
    best = best_sentence_span(chunk.text, search_text, query, idfs)
    return best, bold_spans(term_spans(search_text, rare_words(matched, index.rarity(matched))), best)
