"""The payment provider simulator and the portal's app, each under uvicorn on a free loopback port in a thread,
with fresh RSA key pairs (the provider's and the merchant's) written where the CLI can read them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arrears.adapters import payment_provider as pp
from arrears.adapters.payment_provider_sim import Simulator, simulator_app
from arrears.entrypoints.api import create_app
from arrears.services.cases import CaseworkConfig
from tests.served import Served
from tests.web.sample import Clock

APP_ID = "test-merchant"


@dataclass
class PayWorld:
    portal: Served
    provider: Served
    sim: Simulator
    env: dict[str, str]  # ARREARS_PAY_* for the CLI
    provider_key: Any


def write_keys(directory: Path) -> tuple[Any, Any, dict[str, str]]:
    provider_key, merchant_key = pp.generate_key(), pp.generate_key()
    (directory / "provider.pub.pem").write_bytes(pp.public_pem(provider_key.public_key()))
    (directory / "merchant.pem").write_bytes(pp.private_pem(merchant_key))
    env = {
        pp.ENV["app_id"]: APP_ID,
        pp.ENV["provider_public_key"]: str(directory / "provider.pub.pem"),
        pp.ENV["merchant_private_key"]: str(directory / "merchant.pem"),
    }
    return provider_key, merchant_key, env


@contextmanager
def pay_world(store_url: str, clock: Clock, tmp: Path) -> Iterator[PayWorld]:
    provider_key, merchant_key, env = write_keys(tmp)
    sim = Simulator(APP_ID, provider_key, merchant_key.public_key(), clock=clock)
    provider = Served(simulator_app(sim))
    env[pp.ENV["url"]] = provider.base
    app = create_app(
        store_url,
        CaseworkConfig(
            webhook_secret="w" * 32, provider_secret="p" * 32, token_secret="t" * 32, data_dir=tmp
        ),
    )
    app.state.clock = clock
    config = pp.ProviderConfig.from_env(env)
    assert config is not None
    app.state.payment_provider = pp.ProviderClient(config)
    portal = Served(app)
    try:
        yield PayWorld(portal, provider, sim, env, provider_key)
    finally:
        portal.stop()
        provider.stop()
