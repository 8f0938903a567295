"""BM25 and its Telugu-aware tokenizer; hybrid scoring in KnowledgeBase.search."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from knowledge.base import KnowledgeBase
from knowledge.lexical import BM25Index, lexical_terms, naive_terms
from tests.conftest import make_settings


def test_telugu_words_keep_their_vowel_signs() -> None:
    terms = lexical_terms("సంస్థలకు రుణం")
    assert "సంస్థలకు" in terms
    assert "రుణం" in terms
    # The naive \w+ split cuts the same words apart at the combining vowel signs.
    assert "సంస్థలకు" not in naive_terms("సంస్థలకు రుణం")


def test_inflected_telugu_forms_share_a_stem_term() -> None:
    first, second = set(lexical_terms("సంస్థకు")), set(lexical_terms("సంస్థలలో"))
    shared = first & second
    assert shared and all(term.endswith("~") for term in shared)


def test_stems_do_not_collide_with_whole_words() -> None:
    assert "regis" in lexical_terms("regis")
    assert "regis~" in lexical_terms("registration")
    assert "regis" not in lexical_terms("registration")


def test_rare_shared_word_ranks_its_document_first() -> None:
    index = BM25Index(
        [
            "Mudra loans need no collateral.",
            "The composition scheme pays GST at a low rate.",
            "Udyam registration is free and online.",
        ]
    )
    ranked = index.top("is udyam registration free?", 3)
    assert ranked[0][0] == 2
    assert all(score > 0 for _, score in ranked)


def test_telugu_question_finds_the_inflected_passage() -> None:
    index = BM25Index(
        [
            "సీజీటీఎంఎస్ఈ బ్యాంకులు ఇచ్చే రుణాలకు హామీ ఇస్తుంది.",
            "యూపీఐ చెల్లింపులపై ఎండీఆర్ లేదు.",
        ]
    )
    # "రుణం" and "రుణాలకు" meet only through their stem.
    assert index.top("రుణం హామీ ఎంత?", 1)[0][0] == 0
    # A plain \w+ split keeps only the consonants: "రుణం" becomes letters found everywhere.
    assert naive_terms("రుణం") == ["ర", "ణ"]


def test_coverage_is_a_share_of_the_query() -> None:
    index = BM25Index(["alpha beta", "alpha", "gamma delta"])
    coverage = index.coverage("alpha beta")
    assert 0 < coverage[1] < coverage[0] < 1
    assert coverage[2] == 0
    assert index.coverage("zzz").max() == 0
    assert index.top("zzz", 3) == []


def test_rarer_terms_weigh_more() -> None:
    index = BM25Index(["common rare", "common", "common"])
    assert index.idf("rare") > index.idf("common") > 0
    assert index.idf("unseen") > index.idf("rare")


def test_empty_index_scores_nothing() -> None:
    index = BM25Index([])
    assert index.top("anything", 5) == []
    assert index.coverage("anything").shape == (0,)


@pytest.fixture
def tiny_knowledge(tmp_path: Path, embeddings: Embeddings) -> Path:
    """A DATA_DIR with a few English and Telugu chunks in one document."""
    data_dir = tmp_path / "data"
    knowledge = KnowledgeBase(make_settings(data_dir), embeddings)
    texts = [
        ("Udyam registration is free of cost and fully online.", "en"),
        ("Mudra Shishu loans cover amounts up to Rs 50,000.", "en"),
        ("The GST composition scheme charges 1 percent for traders.", "en"),
        ("సీజీటీఎంఎస్ఈ బ్యాంకులు ఇచ్చే రుణాలకు హామీ ఇస్తుంది.", "te"),
    ]
    knowledge.index_documents(
        "doc",
        [
            Document(
                page_content=text,
                metadata={
                    "doc_id": "doc",
                    "title": "MSME notes",
                    "source": f"s{i}",
                    "lang": lang,
                    "chunk_index": i,
                },
            )
            for i, (text, lang) in enumerate(texts)
        ],
    )
    return data_dir


def test_hybrid_score_is_dense_score_plus_weighted_coverage(
    tiny_knowledge: Path, embeddings: Embeddings
) -> None:
    query = "Is Udyam registration free?"
    dense = KnowledgeBase(make_settings(tiny_knowledge, hybrid_search=False), embeddings)
    hybrid = KnowledgeBase(
        make_settings(tiny_knowledge, hybrid_search=True, lexical_weight=0.2), embeddings
    )
    dense_scores = {hit.document.metadata["source"]: hit.score for hit in dense.search(query, 4)}
    hybrid_hits = hybrid.search(query, 4)
    assert hybrid_hits[0].document.metadata["source"] == "s0"
    texts = [f"MSME notes\n{d.page_content}" for d in hybrid.all_chunks()]
    sources = [d.metadata["source"] for d in hybrid.all_chunks()]
    coverage = dict(zip(sources, BM25Index(texts).coverage(query).tolist(), strict=True))
    assert coverage["s0"] > 0.3
    for hit in hybrid_hits:
        source = hit.document.metadata["source"]
        assert hit.score == pytest.approx(dense_scores[source] + 0.2 * coverage[source], abs=1e-5)
    assert [hit.score for hit in hybrid_hits] == sorted(
        (h.score for h in hybrid_hits), reverse=True
    )


def test_hybrid_search_on_an_empty_base_finds_nothing(
    tmp_path: Path, embeddings: Embeddings
) -> None:
    knowledge = KnowledgeBase(make_settings(tmp_path / "d", hybrid_search=True), embeddings)
    assert knowledge.search("anything", 3) == []
