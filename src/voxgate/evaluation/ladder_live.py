"""`voxgate eval ladder --live`: the bundled ladder's questions asked through a running gateway.

Every question goes to the gateway once per router, one request at a time (so latencies are not
queueing): `predict` (`model: "auto"` with `routing.strategy: "predict"`), `cascade`
(`model: "auto:cascade"`), `auto` (the default profile, whatever strategy it uses) and
`always-<model>` (a model id). Each reply is graded by the question's own grader; the figures per
router are accuracy, the share answered by models other than the dearest, and mean and p95
latency; with `stream` the requests stream and the median time to the first content chunk is kept
(a cascade sends nothing until an answer is accepted: that is its TTFT cost). `collect_logprobs`
asks for token log-probabilities too and keeps them, so the confidence calibration
(`bench/cascade_calibration.py`) can be fit on TRAIN rows.

The questions and graders live outside the package (`dataset_builders.ladder`); the command line
passes them in as `LiveQuestion`s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from voxgate.core.types import JSONObject
from voxgate.evaluation.runner import progress_bar

REQUEST_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class LiveQuestion:
    """One question: its id, kind and split, the prompt, its token budget and its grader."""

    id: str
    category: str
    split: str
    prompt: str
    max_tokens: int
    grade: Callable[[str], float] = field(repr=False, compare=False)


@dataclass(frozen=True)
class LiveRouter:
    """How a router is asked: the `model` field and the `routing` object."""

    name: str
    model: str
    routing: JSONObject | None = None


def routers_for(dearest: str, names: Sequence[str]) -> list[LiveRouter]:
    known = {
        "predict": LiveRouter("predict", "auto", {"strategy": "predict"}),
        "cascade": LiveRouter("cascade", "auto:cascade"),
        "auto": LiveRouter("auto", "auto"),
        f"always-{dearest}": LiveRouter(f"always-{dearest}", dearest),
    }
    unknown = [n for n in names if n not in known and not n.startswith("always-")]
    if unknown:
        raise ValueError(f"unknown routers {unknown}; use {list(known)} or always-<model>")
    return [known.get(n) or LiveRouter(n, n.removeprefix("always-")) for n in names]


@dataclass
class LiveAnswer:
    question_id: str
    category: str
    split: str
    router: str
    score: float
    answered_by: str
    latency_ms: float
    stages: str
    reply: str = ""
    token_logprobs: list[JSONObject] | None = None
    error: str | None = None
    ttft_ms: float | None = None


def _body(question: LiveQuestion, router: LiveRouter, collect_logprobs: bool) -> JSONObject:
    body: JSONObject = {
        "model": router.model,
        "messages": [{"role": "user", "content": question.prompt}],
        "temperature": 0,
        "max_tokens": question.max_tokens,
    }
    if router.routing is not None:
        body["routing"] = router.routing
    if collect_logprobs:
        body["logprobs"] = True
        body["top_logprobs"] = 2
    return body


def ask_streamed(client: httpx.Client, base_url: str, question: LiveQuestion, router: LiveRouter) -> LiveAnswer:
    """One streamed request: time to the first content chunk (TTFT) and to the end; graded."""
    body = {**_body(question, router, collect_logprobs=False), "stream": True}
    started_s = time.perf_counter()
    ttft_ms = None
    pieces: list[str] = []
    with client.stream("POST", f"{base_url}/v1/chat/completions", json=body) as response:
        headers = response.headers
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line.removeprefix("data: "))
            for choice in chunk.get("choices") or []:
                content = (choice.get("delta") or {}).get("content")
                if content and ttft_ms is None:
                    ttft_ms = (time.perf_counter() - started_s) * 1000
                pieces.append(content or "")
        status = response.status_code
    latency_ms = (time.perf_counter() - started_s) * 1000
    reply = "".join(pieces)
    error = None if status == 200 else f"HTTP {status}"
    return LiveAnswer(
        question.id,
        question.category,
        question.split,
        router.name,
        question.grade(reply) if error is None else 0.0,
        headers.get("x-voxgate-model", ""),
        latency_ms,
        headers.get("x-voxgate-cascade", ""),
        reply,
        None,
        error,
        ttft_ms,
    )


def ask(
    client: httpx.Client, base_url: str, question: LiveQuestion, router: LiveRouter, collect_logprobs: bool = False
) -> LiveAnswer:
    """One request, timed from sending to the whole answer; graded. An HTTP error scores 0."""
    started_s = time.perf_counter()
    response = client.post(f"{base_url}/v1/chat/completions", json=_body(question, router, collect_logprobs))
    latency_ms = (time.perf_counter() - started_s) * 1000
    stages = response.headers.get("x-voxgate-cascade", "")
    model = response.headers.get("x-voxgate-model", "")
    if response.status_code != 200:
        return LiveAnswer(
            question.id,
            question.category,
            question.split,
            router.name,
            0.0,
            model,
            latency_ms,
            stages,
            error=f"HTTP {response.status_code}",
        )
    choice = response.json()["choices"][0]
    reply = str(choice["message"].get("content") or "")
    logprobs = (choice.get("logprobs") or {}).get("content") if collect_logprobs else None
    return LiveAnswer(
        question.id,
        question.category,
        question.split,
        router.name,
        question.grade(reply),
        model,
        latency_ms,
        stages,
        reply,
        logprobs,
    )


@dataclass(frozen=True)
class LiveSummary:
    router: str
    questions: int
    accuracy: float
    smaller_share: float
    mean_latency_ms: float
    p95_latency_ms: float
    errors: int
    median_ttft_ms: float | None = None


def _median_ttft_ms(answers: Sequence[LiveAnswer]) -> float | None:
    ttfts = [a.ttft_ms for a in answers if a.ttft_ms is not None]
    return float(np.median(ttfts)) if ttfts else None


def summarise(answers: Sequence[LiveAnswer], dearest: str) -> list[LiveSummary]:
    """Per router: accuracy, share answered by models other than `dearest`, mean and p95 latency, over
    the questions every router answered (a run cut short stays paired)."""
    routers = list(dict.fromkeys(a.router for a in answers))
    asked = {router: {a.question_id for a in answers if a.router == router} for router in routers}
    common = set.intersection(*asked.values()) if asked else set()
    summaries = []
    for router in routers:
        mine = [a for a in answers if a.router == router and a.question_id in common]
        latencies = np.asarray([a.latency_ms for a in mine])
        summaries.append(
            LiveSummary(
                router=router,
                questions=len(mine),
                accuracy=float(np.mean([a.score for a in mine])),
                smaller_share=float(np.mean([a.answered_by != dearest for a in mine])),
                mean_latency_ms=float(latencies.mean()),
                p95_latency_ms=float(np.quantile(latencies, 0.95)),
                errors=sum(a.error is not None for a in mine),
                median_ttft_ms=_median_ttft_ms(mine),
            )
        )
    return summaries


ONE_GATEWAY = ("router by router through one gateway: a later router can find an earlier one's prompts in "
               "its llama.cpp prompt cache; for latencies give each router its own gateway (--router-url)")
GATEWAY_EACH = "question by question, the routers taking turns, each router on its own gateway"


def live_markdown(title: str, summaries: Sequence[LiveSummary], dearest: str, order: str = ONE_GATEWAY) -> str:
    lines = [
        f"# {title}",
        "",
        "| router | questions | accuracy | answered by smaller models | mean latency | p95 latency | median TTFT "
        "(streamed) | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        ttft = "" if s.median_ttft_ms is None else f"{s.median_ttft_ms:.0f} ms"
        lines.append(
            f"| {s.router} | {s.questions} | {s.accuracy:.3f} | {s.smaller_share:.0%} | "
            f"{s.mean_latency_ms:.0f} ms | {s.p95_latency_ms:.0f} ms | {ttft} | {s.errors} |"
        )
    lines += [
        "",
        f"smaller models: every model but {dearest}; latency: request sent -> whole answer received, "
        f"one request at a time; asked {order}",
        "",
    ]
    return "\n".join(lines)


def asking_order(
    questions: Sequence[LiveQuestion], routers: Sequence[LiveRouter], *, interleaved: bool = False
) -> list[tuple[LiveQuestion, LiveRouter]]:
    """The order the questions are asked in.

    Through one gateway (`interleaved` False): router by router, each asking every question. The
    gateway's llama.cpp servers keep prompts cached (the last one per slot, and up to 256 MiB more
    in memory), so asked question by question, a router right after another that used the same
    model on the same prompt starts warm (the 1.5B's first token 0.3 s warm against 1.5-2 s cold).
    Router-major, no request follows the same prompt, but a later router can still find an earlier
    one's prompts in the memory cache: compare latencies with a gateway per router.

    With a gateway per router (`interleaved` True): question by question, the routers' turn rotating
    with each question, so no gateway's cache sees another router's prompts and the machine's slow
    and fast minutes fall on every router alike. A run cut short compares only the questions every
    router answered."""
    if not interleaved:
        return [(question, router) for router in routers for question in questions]
    return [
        (question, routers[(index + turn) % len(routers)])
        for index, question in enumerate(questions)
        for turn in range(len(routers))
    ]


def gateway_each(routers: Sequence[LiveRouter], router_urls: Mapping[str, str]) -> bool:
    """Whether every router has a gateway of its own (distinct URLs): then they take turns."""
    urls = [router_urls.get(r.name) for r in routers]
    return None not in urls and len(set(urls)) == len(urls)


def run_live(
    base_url: str,
    questions: Sequence[LiveQuestion],
    routers: Sequence[LiveRouter],
    out_path: Path,
    *,
    collect_logprobs: bool = False,
    stream: bool = False,
    show_progress: bool = True,
    router_urls: Mapping[str, str] | None = None,
) -> list[LiveAnswer]:
    """Ask every question through every router (in `asking_order`); append each answer to `out_path` (JSONL).

    `router_urls` sends a router's requests to its own gateway instead of `base_url`; when every router
    has one of its own (`gateway_each`), the routers take turns question by question. Answers already
    in `out_path` (same question and router) are not asked again.
    """
    router_urls = router_urls or {}
    interleaved = gateway_each(routers, router_urls)
    done = load_answers(out_path)
    seen = {(a.question_id, a.router) for a in done}
    todo = [(r, q) for q, r in asking_order(questions, routers, interleaved=interleaved) if (q.id, r.name) not in seen]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        httpx.Client(timeout=REQUEST_TIMEOUT_S, trust_env=False) as client,
        out_path.open("a") as out,
        progress_bar() as progress,
    ):
        task = progress.add_task("asking", total=len(todo), visible=show_progress)
        for router, question in todo:
            url = router_urls.get(router.name, base_url)
            if stream:
                answer = ask_streamed(client, url, question, router)
            else:
                answer = ask(client, url, question, router, collect_logprobs)
            done.append(answer)
            out.write(json.dumps(asdict(answer)) + "\n")
            out.flush()
            progress.update(task, advance=1, description=f"{router.name:<24}")
    wanted = {(q.id, r.name) for r in routers for q in questions}
    return [a for a in done if (a.question_id, a.router) in wanted]


def load_answers(path: Path) -> list[LiveAnswer]:
    if not path.exists():
        return []
    answers = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw: dict[str, Any] = json.loads(line)
            answers.append(LiveAnswer(**raw))
    return answers
