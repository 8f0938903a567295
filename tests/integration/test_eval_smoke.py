"""A small, fast run of the evaluation harness end to end, so that `make eval` cannot rot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import eval as harness
from bench.metrics import rank_of, ranking_metrics, refusal_at, threshold_window

pytestmark = pytest.mark.integration

# Two tiny BEIR-layout sets in the TyDi shape: passages with titles, questions with gold answers.
PASSAGES = {
    "te": [
        ("te-1", "హైదరాబాద్", "హైదరాబాద్ తెలంగాణ రాష్ట్ర రాజధాని. ఇది మూసీ నది ఒడ్డున ఉంది."),
        ("te-2", "గోదావరి", "గోదావరి నది భారతదేశంలో రెండవ పొడవైన నది. దీని పొడవు 1465 కిలోమీటర్లు."),
        ("te-3", "చార్మినార్", "చార్మినార్ కట్టడాన్ని 1591లో మహమ్మద్ కులీ కుతుబ్ షా నిర్మించాడు."),
        ("te-4", "తిరుపతి", "తిరుపతి వేంకటేశ్వర స్వామి ఆలయం చిత్తూరు జిల్లాలో ఉంది."),
    ],
    "en": [
        ("en-1", "Python", "Python is a programming language created by Guido van Rossum in 1991."),
        ("en-2", "Everest", "Mount Everest is 8849 metres high, the highest mountain on Earth."),
        ("en-3", "Tea", "Tea is an aromatic drink first made in China, now grown in Assam."),
        ("en-4", "Cricket", "Cricket is played by two teams of eleven players on an oval field."),
    ],
}
QUERIES = {
    "te": [
        ("q-te-1", "గోదావరి నది పొడవు ఎంత?", "te-2", ["1465 కిలోమీటర్లు"]),
        ("q-te-2", "చార్మినార్‌ను ఎవరు నిర్మించారు?", "te-3", ["మహమ్మద్ కులీ కుతుబ్ షా"]),
    ],
    "en": [
        ("q-en-1", "How high is Mount Everest?", "en-2", ["8849 metres"]),
        ("q-en-2", "Who created the Python programming language?", "en-1", ["Guido van Rossum"]),
    ],
}


def write_datasets(root: Path) -> None:
    """Write both sets in the layout of ../shared/datasets."""
    for lang in ("te", "en"):
        folder = root / f"tydiqa-{lang}"
        (folder / "qrels").mkdir(parents=True)
        (folder / "corpus.jsonl").write_text(
            "".join(
                json.dumps({"_id": i, "title": t, "text": x}, ensure_ascii=False) + "\n"
                for i, t, x in PASSAGES[lang]
            ),
            encoding="utf-8",
        )
        (folder / "queries.jsonl").write_text(
            "".join(
                json.dumps({"_id": q, "text": x, "metadata": {"answers": a}}, ensure_ascii=False)
                + "\n"
                for q, x, _, a in QUERIES[lang]
            ),
            encoding="utf-8",
        )
        (folder / "qrels" / "test.tsv").write_text(
            "query-id\tcorpus-id\tscore\n"
            + "".join(f"{q}\t{g}\t1\n" for q, _, g, _ in QUERIES[lang]),
            encoding="utf-8",
        )


def test_metrics_of_known_ranks() -> None:
    metrics = ranking_metrics([1, 2, None, 11])
    assert metrics["recall@1"] == 0.25
    assert metrics["recall@5"] == 0.5
    assert metrics["mrr@10"] == pytest.approx((1 + 0.5) / 4)
    assert metrics["ndcg@10"] == pytest.approx((1 + 1 / 1.584962500721156) / 4)
    assert rank_of(["a", "b"], "b") == 2 and rank_of(["a"], "z") is None
    point = refusal_at(0.8, answerable=[0.9, 0.7], unanswerable=[0.85, 0.5, 0.6, 0.1])
    assert (point.false_refusals, point.false_answers) == (0.5, 0.25)
    assert threshold_window([0.9, 0.95], [0.5, 0.6], max_false_refusals=0, max_false_answers=0) == (
        0.9,
        0.9,
    )
    assert threshold_window([0.5], [0.9], max_false_refusals=0, max_false_answers=0) is None


def test_harness_runs_end_to_end(tmp_path: Path) -> None:
    datasets, out = tmp_path / "datasets", tmp_path / "results"
    write_datasets(datasets)
    report = harness.run(
        harness.parse_args(
            [
                "--datasets",
                str(datasets),
                "--out",
                str(out),
                "--models",
                "e5",
                "--only",
                "bm25-naive,bm25,e5,e5+cal+hybrid,e5+cal+hybrid-notitle",
                "--no-cache",
                "--latency-requests",
                "3",
            ]
        )
    )
    names = [row["name"] for row in report["configs"]]
    assert names == ["bm25-naive", "bm25", "e5", "e5+cal+hybrid", "e5+cal+hybrid-notitle"]
    assert report["default"] == "e5+cal+hybrid"
    default = next(row for row in report["configs"] if row["name"] == report["default"])
    # Four passages per pool and unambiguous questions: the default finds every gold passage.
    assert default["retrieval"]["mixed"]["recall@5"] == 1.0
    assert default["retrieval"]["te"]["ndcg@10"] > 0.9
    assert set(default["answers"]) == {"te", "en"}
    assert default["answers"]["en"]["max_sentences"] <= 3
    assert default["refusal"]["chain"]["questions"] == 4
    sample = default["sample"]
    assert sample["in_scope"] >= 30 and sample["off_topic"] >= 10
    assert sample["top3"] == 1.0 and sample["off_topic_refused"] == 1.0
    # The no-title comparison runs on TyDi only: the sample corpus uses the default chunking.
    assert "sample" not in report["configs"][-1]
    assert [t for t, ok in report["targets"] if t.startswith("sample")]
    for key in ("latency", "latency_baseline"):
        assert report[key]["requests"] == 3 and report[key]["p50_ms"] > 0
    markdown = (out / "eval.md").read_text(encoding="utf-8")
    assert "| configuration | nDCG@10 te |" in markdown and "E5-small + calibration" in markdown
    assert (
        json.loads((out / "eval.json").read_text(encoding="utf-8"))["default"] == report["default"]
    )
    assert (out / "eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
