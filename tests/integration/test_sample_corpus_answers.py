"""The real embedding model and FAISS on the sample corpus: right documents, refusals, answers."""

from __future__ import annotations

import pytest

from chains.rag import build_rag_chain
from knowledge.base import KnowledgeBase
from prompts.rag import REFUSAL_MESSAGES

IN_SCOPE = [
    # English questions, English documents
    ("What is the turnover limit for a micro enterprise?", "msme_classification.md"),
    ("Is Udyam registration free?", "udyam_registration.txt"),
    ("How much is a Shishu loan under Mudra?", "mudra_loans.docx"),
    ("Within how many days must a buyer pay an MSME supplier?", "delayed_payments.pdf"),
    (
        "When is GST registration compulsory for a shop selling goods?",
        "gst_for_small_business.html",
    ),
    # Telugu questions, Telugu documents
    ("పూచీకత్తు లేకుండా ఎంత రుణం పొందవచ్చు?", "cgtmse_guarantee_te.txt"),
    ("పీఎంఈజీపీ లో గ్రామీణ మహిళలకు ఎంత సబ్సిడీ?", "pmegp_subsidy_te.docx"),
    ("యూపీఐ చెల్లింపులపై ఎండీఆర్ ఉందా?", "upi_digital_payments_te.md"),
    # Across languages: English question, Telugu document, and the reverse
    ("What subsidy does PMEGP give to women in rural areas?", "pmegp_subsidy_te.docx"),
    ("Do I pay MDR on UPI payments?", "upi_digital_payments_te.md"),
    ("ఉద్యమ్ నమోదుకు ఏ పత్రాలు కావాలి?", "udyam_registration.txt"),
    ("కొనుగోలుదారు ఎన్ని రోజుల్లో చెల్లించాలి?", "delayed_payments.pdf"),
    ("జీఎస్టీ నమోదు ఎప్పుడు తప్పనిసరి?", "gst_for_small_business.html"),
]

OFF_TOPIC = [
    "What is the capital of France?",
    "How do I bake a chocolate cake?",
    "Who won the cricket world cup in 2011?",
    "భారతదేశ ప్రధానమంత్రి ఎవరు?",
    "బిర్యానీ ఎలా వండాలి?",
]


@pytest.mark.parametrize(("question", "expected_source"), IN_SCOPE)
def test_question_finds_its_document_in_the_top_three(
    sample_knowledge: KnowledgeBase, question: str, expected_source: str
) -> None:
    hits = sample_knowledge.search(question, 3)
    assert expected_source in [hit.document.metadata["source"] for hit in hits]


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_are_refused(sample_knowledge: KnowledgeBase, question: str) -> None:
    chain = build_rag_chain(sample_knowledge.settings, retrieve=sample_knowledge.search, llm=None)
    result = chain.invoke({"question": question})
    assert result["refused"] is True
    assert result["sources"] == []
    assert result["answer"] in REFUSAL_MESSAGES.values()


def test_english_answer_quotes_the_limit_with_a_citation(sample_knowledge: KnowledgeBase) -> None:
    chain = build_rag_chain(sample_knowledge.settings, retrieve=sample_knowledge.search, llm=None)
    result = chain.invoke({"question": "How much is a Shishu loan under Mudra?"})
    assert result["refused"] is False and result["llm_used"] is False
    assert "50,000" in result["answer"]
    assert "[1]" in result["answer"]
    assert result["sources"][0]["source"] == "mudra_loans.docx"
    assert result["sources"][0]["title"] == "Mudra loans for small businesses"


def test_telugu_answer_comes_from_the_telugu_document(sample_knowledge: KnowledgeBase) -> None:
    chain = build_rag_chain(sample_knowledge.settings, retrieve=sample_knowledge.search, llm=None)
    result = chain.invoke({"question": "పీఎంఈజీపీ లో గ్రామీణ ప్రాంతాల్లో సబ్సిడీ ఎంత?"})
    assert result["lang"] == "te" and result["refused"] is False
    assert result["sources"][0]["source"] == "pmegp_subsidy_te.docx"
    assert "శాతం" in result["answer"]
