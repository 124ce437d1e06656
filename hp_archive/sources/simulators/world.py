"""A simulated department: one scenario and one loopback simulator per platform.

Used by ``hp-archive demo``, ``hp-archive simulate`` (for ``make airflow``) and the multi-night
tests. Tokens are random per world and handed out as an environment mapping, never printed.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType

from hp_archive.settings import Account
from hp_archive.sources.simulators import SIMULATORS
from hp_archive.sources.simulators.base import SimulatorServer
from hp_archive.sources.simulators.scenario import Scenario


@dataclass
class PlatformWorld:
    platform: str
    scenario: Scenario
    server: SimulatorServer
    account: Account


@dataclass
class SimulatedDepartment:
    """Start with ``with SimulatedDepartment(...) as dept:``; ``dept.advance()`` is the next night."""

    platforms: Iterable[str] | None = None
    posts: int = 36
    comments_per_post: int = 8
    epoch: datetime | None = None
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=dict)
    worlds: dict[str, PlatformWorld] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)

    def __enter__(self) -> SimulatedDepartment:
        names = sorted(self.platforms) if self.platforms is not None else sorted(SIMULATORS)
        try:
            for index, platform in enumerate(names):
                self._start(platform, index)
        except BaseException:
            self.close()
            raise
        return self

    def _start(self, platform: str, index: int) -> None:
        entry = SIMULATORS[platform]
        scenario = Scenario.department(
            posts=self.posts,
            comments_per_post=self.comments_per_post,
            seed=7 + index,
            account_id=str(104857600000001 + index),
            epoch=self.epoch,
        )
        token = f"sim-{platform}-" + secrets.token_hex(20)
        app = entry.load()(scenario, valid_tokens={token} if entry.needs_token else frozenset())
        server = SimulatorServer(app, host=self.host, port=self.ports.get(platform, 0)).start()
        fields = {
            "account_id": scenario.account.id,
            "username": scenario.account.handle,
            "server": server.url,
        }
        token_env = f"HP_SIM_{platform.upper()}_TOKEN" if entry.needs_token else None
        if token_env:
            self.environ[token_env] = token
        account = Account(
            id=f"hppd-{platform}",
            platform=platform,
            handle=entry.handle.format(**fields),
            base_url=server.url + entry.base_path.format(**fields),
            token_env=token_env,
            series="social-media" if platform != "web" else "web-pages",
            display_name=scenario.account.name,
        )
        self.worlds[platform] = PlatformWorld(platform, scenario, server, account)

    @property
    def accounts(self) -> list[Account]:
        return [w.account for w in self.worlds.values()]

    def now(self) -> datetime:
        return next(iter(self.worlds.values())).scenario.now()

    def advance(self) -> dict[str, list[str]]:
        """Next night on every platform; returns each platform's scenario changes."""
        return {name: world.scenario.advance() for name, world in self.worlds.items()}

    def close(self) -> None:
        for world in self.worlds.values():
            world.server.stop()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
