"""The corpus lexicon cuts passages exactly as jieba's full dictionary does, and loads far faster;
jieba-rs, which cuts passages when building, cuts them as jieba does."""

from __future__ import annotations

from retrieval.lexical.build import passage_terms
from retrieval.lexical.index import Index, analyze_query
from retrieval.lexical.segmenter import (
    Segmenter,
    dictionary_freqs,
    dictionary_words,
    full_segmenter,
    graph_recorder,
    lexicon_from,
)


def test_the_lexicon_segments_every_passage_like_the_full_dictionary(index: Index) -> None:
    assert len(index.lexicon.words) < len(full_segmenter()._tokenizer.FREQ) / 5
    for chunk in index.chunks:
        assert passage_terms(chunk, index.segmenter) == passage_terms(chunk, full_segmenter()), chunk.id


def test_questions_about_other_things_are_still_cut_into_whole_words(index: Index) -> None:
    words = analyze_query("世界杯冠军是哪个国家", index.segmenter).words
    assert "世界杯" in words and "冠军" in words


def test_jieba_rs_cuts_every_bundled_passage_as_jieba_does(index: Index) -> None:
    fast = graph_recorder()
    for chunk in index.chunks:
        assert passage_terms(chunk, fast) == passage_terms(chunk, full_segmenter()), chunk.id


def test_the_graph_words_noted_while_cutting_are_jiebas_word_graph(index: Index) -> None:
    """Every dictionary word jieba's word graph holds for the texts it cuts, and no other."""
    reference = full_segmenter()._tokenizer
    jieba_graph: set[str] = set()

    class Recording(Segmenter):
        def cut_for_search(self, text: str):  # what jieba's own cut builds its route over
            for start, ends in reference.get_DAG(text).items():
                jieba_graph.update(w for w in (text[start : end + 1] for end in ends) if reference.FREQ.get(w))
            return reference.cut_for_search(text)

    fast = graph_recorder()
    for chunk in index.chunks:
        passage_terms(chunk, Recording(reference))
        passage_terms(chunk, fast)
    assert dictionary_words(fast.words) == jieba_graph


def test_dictionary_frequencies_and_total_are_jiebas() -> None:
    reference = full_segmenter()._tokenizer
    words = ["质量", "区长质量奖", "的", "世界杯", "不是词语吧"]
    assert dictionary_freqs(words) == {w: reference.FREQ[w] for w in words if reference.FREQ.get(w)}
    assert lexicon_from({}).total == reference.total
