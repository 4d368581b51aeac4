"""`voxgate keys ...` and `voxgate spend`: virtual keys and their spend, straight on the database.

They work with or without a server running: a running server sees a created, revoked or
rotated key within its key cache's lifetime (`server/keys.KEY_CACHE_TTL_S`).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from voxgate.config import Settings, load_settings
from voxgate.core.errors import InvalidRequestError
from voxgate.core.keys import BudgetPeriod, VirtualKey, period_start_s
from voxgate.core.types import JSONObject
from voxgate.store.databases import open_decision_log, open_key_store
from voxgate.store.keys import SQLiteKeyStore
from voxgate.store.spend import GROUPINGS

KEYS_EXAMPLES = """\
examples:
  voxgate keys create --name team-a --budget-usd 20/day --rpm 60 --tpm 100000
  voxgate keys create --name bots --budget-usd 300/month --models smollm2-360m --profiles auto:cost \\
      --routing '{"max_cost_usd": 0.01}'
  voxgate keys list
  voxgate keys revoke team-a          # by name or id
  voxgate keys rotate 3f9c0a1b2c4d    # a new secret, same id, limits and spend
  voxgate spend --group-by model --since 2026-12-01
"""


def add_team_commands(commands: Any) -> None:
    keys = commands.add_parser("keys", help="virtual keys: create, list, revoke, rotate", epilog=KEYS_EXAMPLES,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = keys.add_subparsers(dest="keys_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="a new key with limits; its secret is printed once")
    create.add_argument("--name", required=True)
    create.add_argument("--budget-usd", action="append", default=[], metavar="USD/PERIOD",
                        help="e.g. 20/day or 300/month (repeatable)")
    create.add_argument("--rpm", type=int, help="requests per minute")
    create.add_argument("--tpm", type=int, help="tokens per minute")
    create.add_argument("--max-voice-sessions", type=int, help="concurrent realtime sessions")
    create.add_argument("--models", help="comma-separated model ids the key may use (default: all)")
    create.add_argument("--profiles", help="comma-separated routing profiles, e.g. auto:cost (default: all)")
    create.add_argument("--routing", help="routing constraints every request of the key gets, as JSON")
    listing = actions.add_parser("list", help="every key with its limits and spend")
    changes = []
    for name, text in (("revoke", "stop a key (its spend history stays)"), ("rotate", "a new secret for a key")):
        action = actions.add_parser(name, help=text)
        action.add_argument("key", help="key id or name")
        changes.append(action)
    spend = commands.add_parser("spend", help="spend in USD by key, model or day")
    spend.add_argument("--key", help="only this key (id or name)")
    spend.add_argument("--model", help="only this model")
    spend.add_argument("--since", help="YYYY-MM-DD (UTC) or unix seconds; default: this month")
    spend.add_argument("--group-by", choices=GROUPINGS, default="key")
    for command in (create, listing, *changes, spend):
        command.add_argument("--config", type=Path, help="catalog YAML whose `database:` and models to use")


def _spec(args: argparse.Namespace) -> JSONObject:
    budget: dict[str, float] = {}
    for text in args.budget_usd:
        usd, _, period = text.partition("/")
        try:
            budget[BudgetPeriod(period or "day").value] = float(usd)
        except ValueError as exc:
            raise InvalidRequestError(f"--budget-usd {text!r}: write USD/day or USD/month, e.g. 20/day") from exc
    spec: JSONObject = {"name": args.name, "budget_usd": budget or None, "rpm": args.rpm, "tpm": args.tpm,
                        "max_voice_sessions": args.max_voice_sessions}
    for name in ("models", "profiles"):
        value = getattr(args, name)
        spec[name] = [v.strip() for v in value.split(",") if v.strip()] if value else None
    if args.routing:
        try:
            spec["routing"] = json.loads(args.routing)
        except json.JSONDecodeError as exc:
            raise InvalidRequestError(f"--routing is not JSON: {exc}") from exc
    return spec


def _find(store: SQLiteKeyStore, id_or_name: str) -> VirtualKey:
    key = store.find(id_or_name)
    if key is None:
        raise InvalidRequestError(f"no key {id_or_name!r}: see `voxgate keys list`")
    return key


def _print_secret(console: Console, key: VirtualKey, secret: str) -> None:
    console.print(f"key [bold]{key.name}[/] id {key.id}")
    console.print(secret, highlight=False, soft_wrap=True)
    console.print("[yellow]this is the only time the key is shown: store it now[/]")


def _spent(settings: Settings) -> dict[BudgetPeriod, dict[str, float]]:
    import asyncio

    async def read() -> dict[BudgetPeriod, dict[str, float]]:
        log = open_decision_log(settings)
        await log.open()
        try:
            return {p: await log.spend_by_key(period_start_s(p, time.time())) for p in BudgetPeriod}
        finally:
            await log.close()

    return asyncio.run(read())


def _list(console: Console, store: SQLiteKeyStore, settings: Settings) -> None:
    spent = _spent(settings)
    table = Table("id", "name", "active", "budget $", "spent $ day/month", "rpm", "tpm", "models", "profiles")
    for key in store.list():
        budget = " ".join(f"{usd:g}/{p.value}" for p, usd in key.policy.budget_usd.items()) or "-"
        used = "/".join(f"{spent[p].get(key.id, 0.0):.4f}" for p in BudgetPeriod)
        table.add_row(key.id, key.name, "yes" if key.active else "revoked", budget, used, str(key.policy.rpm or "-"),
                      str(key.policy.tpm or "-"), ",".join(key.policy.models or ["all"]),
                      ",".join(key.policy.profiles or ["all"]), style="" if key.active else "dim")
    console.print(table)


def run_keys(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    store = open_key_store(settings)
    console = Console()
    try:
        if args.keys_action == "create":
            from voxgate.server.admin import parse_key_spec  # the server's own check; loaded only here

            name, policy = parse_key_spec(_spec(args), [c.id for c in settings.models])
            key, secret = store.create(name, policy, time.time())
            _print_secret(console, key, secret)
        elif args.keys_action == "list":
            _list(console, store, settings)
        elif args.keys_action == "revoke":
            revoked = store.revoke(_find(store, args.key).id, time.time())
            console.print(f"revoked {revoked.name if revoked else args.key}")
        else:
            rotated = store.rotate(_find(store, args.key).id)
            if rotated is None:
                raise InvalidRequestError(f"key {args.key!r} is revoked; create a new one")
            _print_secret(console, *rotated)
    finally:
        store.close()
    return 0


def _since_s(text: str | None) -> float:
    if text is None:
        return period_start_s(BudgetPeriod.MONTH, time.time())
    try:
        if text.replace(".", "", 1).isdigit():
            return float(text)
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    except ValueError as exc:
        raise InvalidRequestError(f"--since {text!r}: write YYYY-MM-DD or unix seconds") from exc


def run_spend(args: argparse.Namespace) -> int:
    import asyncio

    settings = load_settings(args.config)
    store = open_key_store(settings)
    try:
        key_id = _find(store, args.key).id if args.key else None
        names = {k.id: k.name for k in store.list()}
    finally:
        store.close()

    async def read() -> list[JSONObject]:
        log = open_decision_log(settings)
        await log.open()
        try:
            return await log.spend(key_id=key_id, model=args.model, since_s=_since_s(args.since),
                                   group_by=args.group_by)
        finally:
            await log.close()

    rows = asyncio.run(read())
    table = Table(args.group_by, "cost $", "requests", "prompt tok", "completion tok", "estimated", "stt s", "tts s")
    for row in rows:
        group = str(row[args.group_by])
        label = f"{names[group]} ({group})" if args.group_by == "key" and group in names else group
        table.add_row(label, f"{row['cost_usd']:.6f}", str(row["requests"]), str(row["prompt_tokens"]),
                      str(row["completion_tokens"]), str(row["estimated_requests"]), f"{row['stt_s']:.1f}",
                      f"{row['tts_s']:.1f}")
    Console().print(table)
    return 0
