"""The corpus lexicon cuts passages exactly as jieba's full dictionary does, and loads far faster."""

from __future__ import annotations

from retrieval.build import passage_terms
from retrieval.index import Index, analyze_query
from retrieval.segmenter import full_segmenter


def test_the_lexicon_segments_every_passage_like_the_full_dictionary(index: Index) -> None:
    assert len(index.lexicon.words) < len(full_segmenter()._tokenizer.FREQ) / 5
    for chunk in index.chunks:
        assert passage_terms(chunk, index.segmenter) == passage_terms(chunk, full_segmenter()), chunk.id


def test_questions_about_other_things_are_still_cut_into_whole_words(index: Index) -> None:
    words = analyze_query("世界杯冠军是哪个国家", index.segmenter).words
    assert "世界杯" in words and "冠军" in words
