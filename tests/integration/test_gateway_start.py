"""Start-up with a remote model that never answers: the others serve, /readyz names the dead one."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from tests.fake_upstream import serve_in_thread
from tests.support.processes import free_port
from voxgate.config import load_settings
from voxgate.server.gateway import Gateway


async def test_unreachable_remote_does_not_block_the_others(tmp_path: Path) -> None:
    dead_port = free_port()
    with serve_in_thread() as upstream:
        catalog = tmp_path / "voxgate.yaml"
        catalog.write_text(
            "models:\n"
            f"  - id: alive\n    base_url: {upstream.base_url}\n"
            f"  - id: dead\n    base_url: http://127.0.0.1:{dead_port}/v1\n    quality: 0.99\n"
            "include_default_models: false\nvoice: {enabled: false}\n"
        )
        settings = load_settings(catalog, env={"HOME": str(tmp_path), "VOXGATE_DB": str(tmp_path / "d.db")})
        settings = dataclasses.replace(settings, local=dataclasses.replace(settings.local, start_timeout_s=1.0))
        gateway = Gateway(settings)
        async with gateway.run():
            for _ in range(100):
                if gateway.dispatcher is not None:
                    break
                await asyncio.sleep(0.05)
            assert gateway.dispatcher is not None, "serving started without the dead model"
            assert not gateway.ready.is_set()
            assert set(gateway.unreachable) == {"dead"}
