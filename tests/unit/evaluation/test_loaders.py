"""Dataset readers on tiny fixtures written into tmp_path."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from voxgate.core.errors import ConfigError
from voxgate.evaluation.loaders import ROUTELLM_STRONG, ROUTELLM_WEAK, load_dataset, load_outcome_file
from voxgate.evaluation.outcomes import is_test_prompt


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _routerbench_fixture(root: Path) -> None:
    header = [
        "",
        "sample_id",
        "prompt",
        "eval_name",
        "m-a",
        "m-b",
        "m-a|model_response",
        "m-b|model_response",
        "m-a|total_cost",
        "m-b|total_cost",
        "oracle_model_to_route_to",
    ]
    for split, rows in (("train", 2), ("test", 3)):
        body = [
            [
                str(i),
                f"mbpp.{i}",
                repr([f"Write code {split} {i}."]),
                "mbpp",
                "1.0",
                "" if i == 0 else "0.0",
                repr(["B"]),
                "" if i == 1 else "y",
                "0.01",
                "0.001",
                "m-a",
            ]
            for i in range(rows)
        ]
        _write_csv(root / "routerbench" / f"mbpp_{split}.csv", header, body)


def test_routerbench_slice_parses_list_prompts_and_keeps_unknown_cells(tmp_path: Path) -> None:
    _routerbench_fixture(tmp_path)
    (table,) = load_dataset("routerbench/mbpp", tmp_path)
    assert table.name == "routerbench/mbpp"
    assert table.models == ("m-a", "m-b")
    assert table.prompts[0] == "Write code train 0."
    assert table.is_test.tolist() == [False, False, True, True, True]
    assert np.isnan(table.scores[0, 1])
    assert table.costs_usd[2].tolist() == [0.01, 0.001]
    assert table.filled_scores()[0, 1] == 0.0  # mean of the known m-b train cells
    assert table.answers is not None
    assert table.answers[0][0] is not None
    assert table.answers[0][0].text == "B"
    assert table.answers[1][1] is None  # an empty response is unknown
    assert table.test().answers is not None
    assert len(table.test().answers or ()) == 3


def test_routellm_uses_the_sha1_split_and_estimates_costs(tmp_path: Path) -> None:
    prompts = [f"question {i}" for i in range(20)]
    rows = [[p, "True" if i % 2 else "False", "True"] for i, p in enumerate(prompts)]
    _write_csv(tmp_path / "routellm/mmlu/mmlu_anatomy.csv", ["prompt", ROUTELLM_WEAK, ROUTELLM_STRONG], rows)
    gsm_header = [
        "prompt",
        ROUTELLM_WEAK,
        ROUTELLM_STRONG,
        f"{ROUTELLM_WEAK}_response",
        f"{ROUTELLM_STRONG}_response",
    ]
    _write_csv(tmp_path / "routellm/gsm8k_responses.csv", gsm_header, [["2+2?", "False", "True", "5", "4"]])
    mmlu, gsm = load_dataset("routellm", tmp_path)
    assert mmlu.models == (ROUTELLM_WEAK, ROUTELLM_STRONG)
    assert mmlu.is_test.tolist() == [is_test_prompt(p) for p in prompts]
    assert mmlu.scores[:, 1].tolist() == [1.0] * 20
    assert mmlu.costs_estimated
    assert gsm.costs_usd[0, 1] > gsm.costs_usd[0, 0] > 0
    assert mmlu.answers is None
    assert gsm.answers is not None
    assert [a.text if a else None for a in gsm.answers[0]] == ["5", "4"]


def test_open7b_reads_split_files_and_sha1_split_files(tmp_path: Path) -> None:
    root = tmp_path / "open7b"
    root.mkdir()
    item = {"question": "q", "scores": {"mistralai/Mistral-7B-v0.1": 0.4, "meta-llama/Meta-Llama-3-8B": 1}}
    for name in (
        "arc_challenge_train",
        "arc_challenge_test",
        "gsm8k-train",
        "gsm8k-test",
        "humaneval_train",
        "humaneval_test",
        "mmlu_train",
        "mmlu_test",
        "mbpp",
        "MATH_prealgebra",
    ):
        (root / f"{name}.json").write_text(json.dumps([item, item]), encoding="utf-8")
    tables = load_dataset("open7b", tmp_path)
    assert [t.name for t in tables][:2] == ["open7b/arc_challenge", "open7b/gsm8k"]
    assert tables[0].is_test.tolist() == [False, False, True, True]
    assert tables[0].scores[0].tolist() == [0.4, 1.0]
    assert tables[0].costs_usd[0, 1] > tables[0].costs_usd[0, 0]


def test_generic_csv_with_costs_and_split(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    _write_csv(
        path,
        ["prompt", "small", "big", "small|cost", "big|cost", "split"],
        [["hi", "1", "1", "0.001", "0.01", "train"], ["prove it", "", "1", "0.002", "0.02", "test"]],
    )
    table = load_outcome_file(path)
    assert table.models == ("small", "big")
    assert np.isnan(table.scores[1, 0])
    assert table.is_test.tolist() == [False, True]
    assert not table.costs_estimated


def test_generic_jsonl_without_costs_counts_one_unit_per_call(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    lines = [{"prompt": "a", "x": 1, "y": None}, {"prompt": "b", "x": 0.5, "y": 1}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    (table,) = load_dataset(path, tmp_path)
    assert table.models == ("x", "y")
    assert table.costs_usd.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert table.costs_estimated
    assert table.is_test.tolist() == [is_test_prompt("a"), is_test_prompt("b")]


@pytest.mark.parametrize(
    ("header", "rows"),
    [
        (["question", "m"], [["q", "1"]]),
        (["prompt", "split"], [["q", "train"]]),
        (["prompt", "m", "split"], [["q", "1", "dev"]]),
    ],
)
def test_generic_file_errors_name_the_problem(
    tmp_path: Path, header: list[str], rows: list[list[str]]
) -> None:
    path = tmp_path / "bad.csv"
    _write_csv(path, header, rows)
    with pytest.raises(ConfigError):
        load_outcome_file(path)


def test_unknown_dataset_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_dataset("nonsense", tmp_path)


def test_generic_answer_columns_are_answers_not_models(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    header = ["prompt", "m-a", "m-b", "m-a|answer", "m-b|answer", "split"]
    _write_csv(path, header, [["2+2?", "1", "0", "4", "", "train"], ["3+3?", "1", "", "6", "5", "test"]])
    (table,) = load_dataset(path, tmp_path)
    assert table.models == ("m-a", "m-b")
    assert table.answers is not None
    assert [[a.text if a else None for a in row] for row in table.answers] == [["4", None], ["6", "5"]]


def test_ladder_answers_file_keeps_replies_log_probs_and_margins(tmp_path: Path) -> None:
    path = tmp_path / "ladder.answers.jsonl"
    tokens = [["4", -0.1, [["4", -0.1], ["5", -2.6]]], ["2", -0.3, []]]
    answers = {
        "small": {"reply": "42", "score": 1.0, "cost_usd": 1e-6, "token_logprobs": tokens},
        "large": {"reply": "41", "score": 0.0, "cost_usd": 3e-6, "token_logprobs": None},
    }
    record = {"id": "q1", "category": "arith", "split": "test", "prompt": "6*7?", "answers": answers}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    (table,) = load_dataset(path, tmp_path)
    assert table.name == "ladder/ladder"
    assert table.models == ("small", "large")
    assert table.scores.tolist() == [[1.0, 0.0]]
    assert table.is_test.tolist() == [True]
    small, large = table.answers[0] if table.answers else (None, None)
    assert small is not None
    assert small.token_logprobs == (-0.1, -0.3)
    assert small.margins == pytest.approx((2.5,))
    assert large is not None
    assert large.text == "41"
    assert large.token_logprobs is None
