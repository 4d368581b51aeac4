"""Schemathesis against a live voxgate: cases generated from its own `/openapi.json`.

Used by `tests/integration/test_fuzz_http.py` (a bounded budget) and `bench/fuzz_http.py` (the
long run). Every case is sent over real HTTP; each response must pass:

- no 5xx (`not_a_server_error`), the status, content type, headers and body documented for that
  operation (so every error is OpenAI's `{"error": {...}}`);
- schema-invalid input is refused with a 4xx (`negative_data_rejection`; a 413 `request_too_large`
  counts: an invalid body can also be too large);
- schema-valid input is served, unless the answer is a documented rule JSON Schema cannot state
  (`ACCEPTED_REFUSALS`: no model meets the constraints, an unknown model or decision id, a
  `tool_choice` naming no declared tool, a `tool` message answering no earlier call, function
  `parameters` that are not a valid JSON Schema, an uploaded file that is not decodable audio, an
  inline image that is not valid base64 of the type it claims).

Failures are collected (not raised) so one run reports all of them, each with a curl command.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import hypothesis.errors
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ACCEPTED_REFUSALS = frozenset({
    "no_eligible_model", "model_not_found", "decision_not_found", "unknown_tool", "unknown_tool_call_id",
    "invalid_function_parameters", "key_not_found", "invalid_audio", "invalid_image",
})
FUZZ_API_KEY = "sk-fuzz-api"
FUZZ_ADMIN_KEY = "sk-fuzz-admin"
FUZZ_ENV = {"VOXGATE_API_KEYS": FUZZ_API_KEY, "VOXGATE_ADMIN_KEY": FUZZ_ADMIN_KEY}
"""The fuzzed server's keys: the API key for model and log routes, the admin key for the admin ones."""
MAX_FAILURES_KEPT = 20
REQUEST_TIMEOUT_S = 30.0


def schema_valid_input_is_served(ctx: CheckContext, response: Any, case: Case[Any]) -> bool | None:
    """Positive cases get 2xx, or a 4xx whose `code` is a rule the schema cannot state."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return None
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    if response.status_code < 500 and code in ACCEPTED_REFUSALS:
        return None
    raise AssertionError(f"schema-valid input was refused: {response.status_code} {response.text[:300]}")


def invalid_input_is_refused(ctx: CheckContext, response: Any, case: Case[Any]) -> bool | None:
    """Schemathesis's `negative_data_rejection`, except that 413 `request_too_large` counts as the
    refusal it is: a generated invalid body can also exceed the route's body limit (64 KiB for
    `/v1/realtime/route`), and the size is checked before the schema. 413 is not in schemathesis's
    list of refusal statuses."""
    if response.status_code == 413:
        try:
            code = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = None
        if code == "request_too_large":
            return None
    return negative_data_rejection(ctx, response, case)


CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
    response_schema_conformance, invalid_input_is_refused, schema_valid_input_is_served,
]


@dataclass
class HttpFuzzReport:
    """What one run tried and found."""

    cases: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)
    failure_count: int = 0
    unsatisfiable: list[str] = field(default_factory=list)
    """Operations with nothing to mutate: an operation without parameters has no invalid form."""
    elapsed_s: float = 0.0

    def record_failure(self, case: Case[Any], base_url: str, error: BaseException) -> None:
        self.failure_count += 1
        if len(self.failures) < MAX_FAILURES_KEPT:
            try:
                command = case.as_curl_command()
            except ValueError:  # a generated header schemathesis itself cannot render
                command = repr(case)
            self.failures.append(f"{case.operation.label}: {str(error)[:600]}\n  {command[:800]}")


def auth_headers(path: str) -> dict[str, str]:
    """The key a fuzzed request to `path` carries (the server runs with `FUZZ_ENV`)."""
    admin = path.startswith("/v1/admin/") or path == "/v1/spend"
    return {"authorization": f"Bearer {FUZZ_ADMIN_KEY if admin else FUZZ_API_KEY}"}


def _label(operation: Any, mode: GenerationMode) -> str:
    return f"{operation.label} ({mode.value})"


def _run_operation(operation: Any, mode: GenerationMode, budget: int, base_url: str, report: HttpFuzzReport,
                   session: requests.Session, seed: int) -> None:
    @hypothesis.settings(max_examples=budget, deadline=None, database=None, derandomize=False,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                         print_blob=False)
    @hypothesis.seed(seed)
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case[Any]) -> None:
        report.cases += 1
        report.by_operation[_label(operation, mode)] += 1
        try:
            response = case.call(base_url=base_url, session=session, timeout=REQUEST_TIMEOUT_S,
                                 headers=auth_headers(operation.path))
        except requests.RequestException as exc:
            report.record_failure(case, base_url, exc)
            return
        report.statuses[response.status_code] += 1
        report.server_errors += response.status_code >= 500
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, Failure, FailureGroup) as exc:
            report.record_failure(case, base_url, exc)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        report.unsatisfiable.append(f"{operation.label} ({mode.value})")


def fuzz_http(base_url: str, cases: int, seed: int = 0) -> HttpFuzzReport:
    """Send at least `cases` requests, spread over every operation, schema-valid and schema-invalid.

    Rounds with a fresh seed go on until the count is reached; an operation without parameters
    yields one case per round, so most of the budget goes to those that take input.
    """
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", headers=auth_headers("/openapi.json"))
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    pairs = [(operation, mode) for operation in operations
             for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    report = HttpFuzzReport()
    started_s = time.monotonic()
    round_seed = seed
    with requests.Session() as session:
        while report.cases < cases:
            before = report.cases
            budget = max(1, (cases - report.cases) // len(pairs))
            counts_before = dict(report.by_operation)
            for operation, mode in pairs:
                _run_operation(operation, mode, budget, base_url, report, session, round_seed)
            round_seed += 1
            if budget > 1:  # drop the operations that have nothing to vary
                pairs = [(op, mode) for op, mode in pairs
                         if report.by_operation[_label(op, mode)] - counts_before.get(_label(op, mode), 0) > 1]
            if report.cases == before or not pairs:
                break
    report.elapsed_s = time.monotonic() - started_s
    return report


def fuzz_catalog(upstream_base_url: str, *, voice: bool) -> str:
    """A catalog of two fast scripted models (tests/fake_upstream) that can do everything, so the
    fuzzer exercises voxgate's input handling rather than its capability filters."""
    models = []
    for model_id, locality in (("scripted-local", "local"), ("scripted-cloud", "cloud")):
        models.append(
            f"  - id: {model_id}\n    base_url: {upstream_base_url}\n    locality: {locality}\n"
            "    capabilities: [tools, json, vision, audio]\n    context_window: 4000000\n"
            "    price: {input_per_mtok: 0.1, output_per_mtok: 0.2}\n"
        )
    voice_block = "voice: {enabled: false}\n"
    if voice:
        voice_block = "voice: {enabled: true, stt_model: tiny.en, tts_engine: espeak, max_append_bytes: 65536}\n"
    return "models:\n" + "".join(models) + "include_default_models: false\n" + voice_block
