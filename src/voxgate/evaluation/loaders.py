"""Readers for the routing datasets in `shared/data/routing` and for users' own outcome files.

Generic outcome format (CSV, or JSONL with one object per line holding the same keys):

    prompt,<model A>,<model B>,...,<model A>|cost,<model B>|cost,split
    "What is 2+2?",1,0.5,...,0.0004,0.00002,test

- `prompt`: the user's prompt text (required).
- `<model>`: that model's score for the prompt in [0, 1] (1 = good answer); an empty cell or
  JSON null means unknown, not 0. Every column that is not `prompt`, `split` or `*|cost` is a model.
- `<model>|cost` (optional): what the query cost on that model in USD; an empty cell takes the
  model's mean known cost. Without cost columns every call costs 1 unit and only accuracy
  figures are meaningful.
- `<model>|answer` (optional): that model's answer text; with them `voxgate train` also fits the
  answer checker and `voxgate eval` replays cascades.
- `<model>|token_logprobs`, `<model>|margins` (optional, beside `|answer`): the answer's per-token
  log-probs and margins as JSON lists (`voxgate outcomes` writes them when decisions kept them).
- `split` (optional): `train` or `test`; without it a row is TEST when the first hex digit of
  sha1(prompt) is 0-7.
"""

from __future__ import annotations

import ast
import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from voxgate.core.errors import ConfigError
from voxgate.evaluation.ladder_answers import load_ladder_answers
from voxgate.evaluation.outcomes import AnswerGrid, AnswerRecord, OutcomeTable, is_test_prompt

ROUTERBENCH_SLICES = ("arc_challenge", "mbpp", "winograde")
ROUTELLM_STRONG, ROUTELLM_WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
# RouteLLM's blended prices (USD per token) for its GPT-4 / Mixtral pair.
ROUTELLM_PRICE_USD_PER_TOKEN = {ROUTELLM_STRONG: 24.7e-6, ROUTELLM_WEAK: 0.24e-6}
MMLU_OUTPUT_TOKENS = 3
OPEN7B_PARAMS_B = {"meta-llama/Meta-Llama-3-8B": 8.0, "cognitivecomputations/dolphin-2.9-llama3-8b": 8.0}
OPEN7B_USD_PER_TOKEN_PER_B = 0.025e-6
OPEN7B_OUTPUT_TOKENS = 256
_NO_COST = "every call counts 1 unit of cost: no cost columns"
SPARSE_WARNING_SHARE = 0.2


def estimate_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def _parse_score(raw: object) -> float:
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return float("nan")
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return 1.0 if raw.strip().lower() == "true" else 0.0
    return float(raw)  # type: ignore[arg-type]


def _read_csv(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _routerbench_prompt(raw: str) -> str:
    """RouterBench stores prompts as a Python list literal of strings."""
    if raw.startswith("[") and raw.endswith("]"):
        try:
            parts = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return raw
        if isinstance(parts, list) and all(isinstance(p, str) for p in parts):
            return "\n".join(parts)
    return raw


def _answer_grid(rows: Sequence[Mapping[str, object]], columns: Sequence[str], unwrap: bool = False) -> AnswerGrid:
    """Answer texts from `columns` (one per model); an empty or missing cell is unknown (None)."""

    def cell(raw: object) -> AnswerRecord | None:
        if not isinstance(raw, str) or not raw.strip():
            return None
        return AnswerRecord(_routerbench_prompt(raw) if unwrap else raw)

    return tuple(tuple(cell(r.get(c)) for c in columns) for r in rows)


def _routerbench_rows(
    path: Path, models: Sequence[str]
) -> tuple[list[str], np.ndarray, np.ndarray, AnswerGrid]:
    rows = _read_csv(path)
    prompts = [_routerbench_prompt(r["prompt"]) for r in rows]
    scores = np.array([[_parse_score(r.get(m)) for m in models] for r in rows], dtype=np.float64)
    costs = np.array([[_parse_score(r.get(f"{m}|total_cost")) for m in models] for r in rows])
    answers = _answer_grid(rows, [f"{m}|model_response" for m in models], unwrap=True)
    return prompts, scores, np.nan_to_num(costs, nan=0.0), answers


def load_routerbench_slice(root: Path, slice_name: str) -> OutcomeTable:
    """One RouterBench slice: `{slice}_train.csv` (TRAIN) and `{slice}_test.csv` (TEST)."""
    header = _read_csv(root / f"{slice_name}_test.csv")[0].keys()
    models = tuple(sorted(c[: -len("|total_cost")] for c in header if c.endswith("|total_cost")))
    parts = [_routerbench_rows(root / f"{slice_name}_{split}.csv", models) for split in ("train", "test")]
    prompts = parts[0][0] + parts[1][0]
    is_test = np.array([False] * len(parts[0][0]) + [True] * len(parts[1][0]))
    return OutcomeTable(
        name=f"routerbench/{slice_name}",
        prompts=prompts,
        models=models,
        scores=np.concatenate([parts[0][1], parts[1][1]]),
        costs_usd=np.concatenate([parts[0][2], parts[1][2]]),
        is_test=is_test,
        answers=parts[0][3] + parts[1][3],
    )


def _routellm_table(
    name: str, rows: list[dict[str, str]], output_tokens: Sequence[Mapping[str, int]], with_answers: bool = False
) -> OutcomeTable:
    models = (ROUTELLM_WEAK, ROUTELLM_STRONG)
    prompts = [r["prompt"] for r in rows]
    scores = np.array([[_parse_score(r[m]) for m in models] for r in rows], dtype=np.float64)
    costs = np.array(
        [
            [(estimate_tokens(p) + out[m]) * ROUTELLM_PRICE_USD_PER_TOKEN[m] for m in models]
            for p, out in zip(prompts, output_tokens, strict=True)
        ]
    )
    return OutcomeTable(
        name=name,
        prompts=prompts,
        models=models,
        scores=scores,
        costs_usd=costs,
        is_test=np.array([is_test_prompt(p) for p in prompts]),
        costs_estimated=True,
        notes=("costs estimated: tokens x RouteLLM's blended prices ($24.7/M GPT-4, $0.24/M Mixtral)",),
        answers=_answer_grid(rows, [f"{m}_response" for m in models]) if with_answers else None,
    )


def load_routellm(root: Path) -> list[OutcomeTable]:
    """RouteLLM's MMLU (57 subject files) and GSM8K outcomes, split by the sha1 rule."""
    mmlu_rows = [row for path in sorted((root / "mmlu").glob("mmlu_*.csv")) for row in _read_csv(path)]
    mmlu_out = [dict.fromkeys((ROUTELLM_WEAK, ROUTELLM_STRONG), MMLU_OUTPUT_TOKENS)] * len(mmlu_rows)
    gsm_rows = _read_csv(root / "gsm8k_responses.csv")
    gsm_out = [
        {m: estimate_tokens(r.get(f"{m}_response", "")) for m in (ROUTELLM_WEAK, ROUTELLM_STRONG)}
        for r in gsm_rows
    ]
    return [
        _routellm_table("routellm/mmlu", mmlu_rows, mmlu_out),
        _routellm_table("routellm/gsm8k", gsm_rows, gsm_out, with_answers=True),
    ]


def _open7b_table(name: str, items: list[tuple[dict[str, object], bool]]) -> OutcomeTable:
    first_scores = items[0][0]["scores"]
    assert isinstance(first_scores, dict)
    models = tuple(first_scores)
    prompts = [str(item["question"]) for item, _ in items]
    scores = np.array(
        [[_parse_score(item["scores"].get(m)) for m in models] for item, _ in items],  # type: ignore[attr-defined]
        dtype=np.float64,
    )
    price = np.array([OPEN7B_PARAMS_B.get(m, 7.24) * OPEN7B_USD_PER_TOKEN_PER_B for m in models])
    tokens = np.array([estimate_tokens(p) + OPEN7B_OUTPUT_TOKENS for p in prompts], dtype=np.float64)
    return OutcomeTable(
        name=name,
        prompts=prompts,
        models=models,
        scores=scores,
        costs_usd=tokens[:, None] * price[None, :],
        is_test=np.array([t for _, t in items]),
        costs_estimated=True,
        notes=("costs estimated: tokens x $0.025/M per billion parameters",),
    )


def load_open7b(root: Path) -> list[OutcomeTable]:
    """RouterDC's seven open models; files without a split use the sha1 rule."""

    def read(name: str) -> list[dict[str, object]]:
        data = json.loads((root / name).read_text(encoding="utf-8"))
        assert isinstance(data, list)
        return data

    paired = {
        "arc_challenge": ("arc_challenge_train.json", "arc_challenge_test.json"),
        "gsm8k": ("gsm8k-train.json", "gsm8k-test.json"),
        "humaneval": ("humaneval_train.json", "humaneval_test.json"),
        "mmlu": ("mmlu_train.json", "mmlu_test.json"),
    }
    tables = []
    for name, (train_file, test_file) in paired.items():
        items = [(i, False) for i in read(train_file)] + [(i, True) for i in read(test_file)]
        tables.append(_open7b_table(f"open7b/{name}", items))
    for name, file in (("mbpp", "mbpp.json"), ("math_prealgebra", "MATH_prealgebra.json")):
        tables.append(
            _open7b_table(f"open7b/{name}", [(i, is_test_prompt(str(i["question"]))) for i in read(file)])
        )
    return tables


def _generic_records(path: Path) -> list[dict[str, object]]:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    return [dict(r) for r in _read_csv(path)]


def _split_of(record: Mapping[str, object], prompt: str, path: Path) -> bool:
    split = str(record.get("split") or "").strip().lower()
    if split in ("", "none"):
        return is_test_prompt(prompt)
    if split not in ("train", "test"):
        raise ConfigError(f"{path}: split must be 'train' or 'test', got {split!r}")
    return split == "test"


def _fill_unknown_costs(costs_usd: np.ndarray) -> np.ndarray:
    """Empty cost cells take the model's mean known cost (0 for a model with none), not 0."""
    known = ~np.isnan(costs_usd)
    means = np.where(known, costs_usd, 0.0).sum(axis=0) / np.maximum(known.sum(axis=0), 1)
    return np.where(known, costs_usd, means)


def load_outcome_file(path: Path) -> OutcomeTable:
    """A user's own outcomes in the generic format described in this module's docstring."""
    records = _generic_records(path)
    if not records or "prompt" not in records[0]:
        raise ConfigError(f"{path}: needs a 'prompt' column and at least one row")
    keys: Iterable[str] = records[0].keys()
    models = tuple(k for k in keys if k not in ("prompt", "split") and not k.endswith(_NOT_MODEL_SUFFIXES))
    if not models:
        raise ConfigError(f"{path}: no model score columns")
    has_cost = all(f"{m}|cost" in records[0] for m in models)
    prompts = [str(r["prompt"]) for r in records]
    scores = np.array([[_parse_score(r.get(m)) for m in models] for r in records], dtype=np.float64)
    if has_cost:
        costs = _fill_unknown_costs(np.array([[_parse_score(r.get(f"{m}|cost")) for m in models] for r in records]))
    else:
        costs = np.ones_like(scores)
    return OutcomeTable(
        name=f"file/{path.stem}",
        prompts=prompts,
        models=models,
        scores=scores,
        costs_usd=costs,
        is_test=np.array([_split_of(r, p, path) for r, p in zip(records, prompts, strict=True)]),
        costs_estimated=not has_cost,
        notes=(() if has_cost else (_NO_COST,)) + _sparse_note(scores),
        answers=_recorded_answers(records, models, path),
    )


_NOT_MODEL_SUFFIXES = ("|cost", "|answer", "|token_logprobs", "|margins")


def _float_list(raw: object, where: str) -> tuple[float, ...] | None:
    """A JSON list of numbers (a cell of `|token_logprobs` or `|margins`); None when empty."""
    if raw is None or raw == "":
        return None
    values = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(values, list) or not all(isinstance(v, int | float) for v in values):
        raise ConfigError(f"{where}: expected a JSON list of numbers")
    return tuple(float(v) for v in values)


def _recorded_answers(records: Sequence[Mapping[str, object]], models: Sequence[str], path: Path) -> AnswerGrid | None:
    """`<model>|answer` cells with their `|token_logprobs` and `|margins`; None without answer columns."""
    if not any(f"{m}|answer" in records[0] for m in models):
        return None
    grid = _answer_grid(records, [f"{m}|answer" for m in models])
    try:
        return tuple(
            tuple(None if cell is None else AnswerRecord(
                cell.text, _float_list(record.get(f"{m}|token_logprobs"), f"{path}: {m}|token_logprobs"),
                _float_list(record.get(f"{m}|margins"), f"{path}: {m}|margins"),
            ) for cell, m in zip(row, models, strict=True))
            for row, record in zip(grid, records, strict=True)
        )
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: a |token_logprobs or |margins cell is not JSON: {exc}") from exc


def _sparse_note(scores: np.ndarray) -> tuple[str, ...]:
    """A warning when many score cells are unknown (feedback exports score one model per prompt)."""
    unknown_share = float(np.isnan(scores).mean()) if scores.size else 0.0
    if unknown_share < SPARSE_WARNING_SHARE:
        return ()
    return (
        f"{unknown_share:.0%} of the score cells are unknown: the replay counts each as that model's "
        "mean, so single-model and router figures lean on those means (training uses known cells only)",
    )


def load_dataset(dataset: str | Path, data_root: Path) -> list[OutcomeTable]:
    """`routerbench`, `routellm`, `open7b`, one slice such as `routerbench/mbpp`, or a file path."""
    name = str(dataset)
    family, _, slice_name = name.partition("/")
    loaders = {
        "routerbench": lambda: [
            load_routerbench_slice(data_root / "routerbench", s) for s in ROUTERBENCH_SLICES
        ],
        "routellm": lambda: load_routellm(data_root / "routellm"),
        "open7b": lambda: load_open7b(data_root / "open7b"),
    }
    if family == "routerbench" and slice_name in ROUTERBENCH_SLICES:
        return [load_routerbench_slice(data_root / "routerbench", slice_name)]
    if family in loaders and not Path(name).is_file():
        tables = loaders[family]()
        if slice_name:
            tables = [t for t in tables if t.name == name]
            if not tables:
                raise ConfigError(f"no slice named {name!r}")
        return tables
    path = Path(dataset)
    if path.is_file() and path.name.endswith(".answers.jsonl"):
        return [load_ladder_answers(path)]
    if not path.is_file():
        raise ConfigError(f"{name!r} is neither a known dataset (routerbench, routellm, open7b) nor a file")
    return [load_outcome_file(path)]
