"""What a speech is about: the places it speaks for and mentions, its organisation, its derived title.

Speeches written here for the purpose (not from any question set), indexed as the build indexes a file.
"""

from __future__ import annotations

from retrieval.ingest.chunking import chunk_speech
from retrieval.ingest.corpus import speeches_of_text
from retrieval.ingest.places import gazetteer
from retrieval.ingest.speeches import Speech
from retrieval.lexical.build import build_index

COUNTY = """在全县质量工作会议上的讲话（一）
同志们：
今天，县政府召开全县质量工作会议，总结我县质量工作，部署今年的任务。
一、我县质量工作取得明显成效
去年以来，昆山县质量工作稳步推进，全县新增名牌产品十二个，产品抽检合格率达到百分之九十八。我县坚持质量兴县，企业质量意识不断增强。
二、明年的主要任务
我县要对标深圳的先进经验，学习深圳企业的质量管理方法，推动昆山县名牌产品培育，全县上下要形成合力。
在全县质量工作会议上的讲话（二）
同志们：
这次会议主要部署全县食品安全工作。我县食品生产企业多，监管任务重。
我县要加强食品生产许可管理，食品抽检合格率要稳定在百分之九十五以上，严厉打击食品违法行为，确保全县食品安全。
"""

COMPANY = """在公司质量工作会议上的讲话
同志们：
今天，华光电子集团召开质量工作会议，总结华光电子集团上半年的质量管理工作。
上半年，华光电子集团产品一次交验合格率达到百分之九十九，顾客投诉下降三成。集团各单位要把质量责任落实到每个岗位。
"""

TRADITIONAL = """在全市質量工作會議上的講話
同志們：
今天，我們在這裏召開全市質量強市工作推進會，部署今年的質量強市工作。
今年以來，溫州市質量強市工作穩步推進，我市新增名牌產品二十個，我市企業質量意識明顯增強。
同志們：
這次會議主要研究標準化工作。我市要加快標準化建設，推動企業參與制定國家標準和行業標準。
"""


def described(text: str, name: str, tag: str) -> dict[str, Speech]:
    speeches = speeches_of_text(text, name, tag)
    chunks = [c for s in speeches for c in chunk_speech(s)]
    index = build_index(speeches, chunks)
    return index.speeches


def test_a_county_speech_speaks_for_its_county_and_only_mentions_what_it_compares_itself_with() -> None:
    speeches = described(COUNTY, "county.txt", "cty")
    first = speeches["cty-1.1"]
    assert first.about.places == ("昆山",)  # its 我县 is the 县 it names: 昆山县 (today 昆山市) folds to 昆山
    assert "深圳" in first.about.mentions and "深圳" not in first.about.places
    assert first.title.startswith("昆山县：全县质量工作会议讲话（") and first.source_title.endswith("（一）")


def test_numbered_speeches_of_a_file_are_told_apart_by_what_they_talk_about() -> None:
    speeches = described(COUNTY, "county.txt", "cty")
    first, second = speeches["cty-1.1"].title, speeches["cty-1.2"].title
    assert first != second
    assert "食品" in second and "食品" not in first


def test_a_company_speech_names_its_organisation() -> None:
    (speech,) = described(COMPANY, "company.txt", "com").values()
    assert speech.about.organisation == "华光电子集团" and speech.about.places == ()


def test_a_traditional_speech_gets_its_derived_title_in_traditional() -> None:
    speeches = described(TRADITIONAL, "trad.txt", "trd")
    first = speeches["trd-1.1"]
    assert first.about.places == ("温州",)
    assert first.title.startswith("溫州市：全市質量強市工作推進會講話")


def test_places_fold_to_one_key_across_names_and_scripts() -> None:
    forms = gazetteer().forms
    assert forms["金华市"] == forms["金华"] == "金华"
    assert forms["洪泽县"] == forms["洪泽区"] == "洪泽"  # a county that became a district stays one place
    assert forms["台北"] == forms["台北市"] == "台北"
    assert "大同" not in forms and "兴县" not in forms  # words first: 世界大同, 质量兴县
    assert gazetteer().within("攸县", "湖南") and not gazetteer().related("金华", "广州")
