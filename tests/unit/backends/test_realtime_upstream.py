"""realtime_target: OpenAI's and Azure OpenAI's realtime URL shapes and auth headers."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from voxgate.backends.realtime_upstream import DEFAULT_AZURE_API_VERSION, realtime_target
from voxgate.core.types import ModelCard, RealtimeDialect


def _card(base_url: str, dialect: RealtimeDialect = RealtimeDialect.GA, **fields: str) -> ModelCard:
    return ModelCard(id="voice", backend="openai-realtime", base_url=base_url, realtime_dialect=dialect,
                     **fields)  # type: ignore[arg-type]


def test_openai_shape_names_the_model_and_sends_a_bearer_key() -> None:
    target = realtime_target(_card("wss://api.openai.com/v1/realtime", api_model="gpt-realtime"), "sk-1")
    assert target.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert target.headers == (("Authorization", "Bearer sk-1"),)
    assert not target.azure


def test_azure_shape_names_the_deployment_and_version_and_sends_api_key() -> None:
    card = _card("https://team.openai.azure.com/openai/realtime", RealtimeDialect.BETA, api_model="my-deploy",
                 api_version="2025-04-01")
    target = realtime_target(card, "az-key")
    parts = urlsplit(target.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("wss", "team.openai.azure.com", "/openai/realtime")
    assert parse_qs(parts.query) == {"api-version": ["2025-04-01"], "deployment": ["my-deploy"]}
    assert target.headers == (("api-key", "az-key"), ("OpenAI-Beta", "realtime=v1"))
    assert target.azure


def test_azure_without_a_version_gets_the_default_and_a_query_in_base_url_is_kept() -> None:
    card = _card("http://127.0.0.1:9/openai/realtime?trace=1")
    parts = urlsplit(realtime_target(card, None).url)
    assert parts.scheme == "ws"
    expected = {"trace": ["1"], "api-version": [DEFAULT_AZURE_API_VERSION], "deployment": ["voice"]}
    assert parse_qs(parts.query) == expected


def test_keys_never_show_in_the_target_repr() -> None:
    target = realtime_target(_card("wss://x/v1/realtime"), "sk-secret")
    assert "sk-secret" not in repr(target)


def test_only_a_beta_upstream_is_opened_with_the_beta_header() -> None:
    ga = realtime_target(_card("wss://api.openai.com/v1/realtime"), "sk-1")
    beta = realtime_target(_card("wss://api.openai.com/v1/realtime", RealtimeDialect.BETA), "sk-1")
    assert ("OpenAI-Beta", "realtime=v1") not in ga.headers
    assert ("OpenAI-Beta", "realtime=v1") in beta.headers
