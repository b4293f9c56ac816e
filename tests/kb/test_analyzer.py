from __future__ import annotations

from tierdesk.kb import analyzer


def test_chinese_run_becomes_overlapping_bigrams_in_queries() -> None:
    assert analyzer.query_terms("一级工单多久要升级", "zh") == [
        "一级",
        "级工",
        "工单",
        "单多",
        "多久",
        "久要",
        "要升",
        "升级",
    ]


def test_documents_also_index_single_cjk_characters_so_a_one_character_query_matches() -> None:
    doc = analyzer.terms("退款政策", "zh")
    assert "退" in doc and "退款" in doc
    assert analyzer.query_terms("退", "zh") == ["退"]


def test_japanese_kana_and_hangul_are_cjk_runs() -> None:
    assert analyzer.query_terms("チケット", "ja") == ["チケ", "ケッ", "ット"]
    assert analyzer.query_terms("환불", "en") == ["환불"]


def test_nfkc_and_case_folding_make_full_width_and_half_width_text_equal() -> None:
    assert analyzer.query_terms("ＰＡＳＳＷＯＲＤ", "en") == analyzer.query_terms("password", "en")
    assert analyzer.query_terms("ﾁｹｯﾄ", "ja") == analyzer.query_terms("チケット", "ja")
    assert analyzer.query_terms("STRASSE", "en") == analyzer.query_terms("straße", "en")


def test_latin_words_are_stemmed_per_language_and_stop_words_dropped() -> None:
    assert analyzer.query_terms("How are tickets escalated?", "en") == ["ticket", "escal"]
    assert analyzer.query_terms("escalation", "en") == ["escal"]
    assert analyzer.query_terms("rimborsi rimborso", "it") == ["rimbors"]
    assert "il" not in analyzer.query_terms("il biglietto", "it")


def test_index_and_query_agree_on_terms_for_the_same_text() -> None:
    text = "L1 tickets escalate to L2 after 15 minutes; 一级工单十五分钟后升级"
    assert set(analyzer.query_terms(text, "en")) <= set(analyzer.terms(text, "en"))


def test_offsets_point_at_the_matched_text() -> None:
    text = "Reset your PASSWORD here"
    norm = analyzer.normalize(text)
    for token in analyzer.tokens(text, "en"):
        assert norm[token.start : token.end].casefold().startswith(token.term[:3])


def test_long_queries_are_capped_not_refused() -> None:
    query = " ".join(f"word{i}" for i in range(500))
    assert len(analyzer.query_terms(query, "en")) == analyzer.MAX_QUERY_TERMS


def test_locales_are_normalised_and_unknown_ones_rejected() -> None:
    assert analyzer.supported("zh-CN") == "zh"
    assert analyzer.supported("it_IT") == "it"
    assert analyzer.supported("klingon") is None
    assert analyzer.supported("") is None
