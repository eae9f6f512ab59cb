"""What ``renkei serve --demo`` wraps around the server: the demo hub made ready (with its
progress shown), how to use it printed, its configuration for the server, and the living
task running for as long as the server does."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from renkei.core.config import Config
from renkei.core.i18n import translator
from renkei.core.time import SystemClock
from renkei.demo import banner, home
from renkei.demo.living import Living
from renkei.demo.progress import seeding_progress


@contextmanager
def exported(values: dict[str, str]) -> Iterator[None]:
    """These environment variables for the duration (server processes started by name
    read their configuration from it), then as they were."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def demo_serving(config: Config, *, host: str, port: int, fresh: bool = False,
                 every: int = 60) -> Iterator[Config]:
    """The configuration to serve the demo hub with; raises UserError when it cannot be."""
    _ = translator(config.lang)
    with seeding_progress(_) as on_step:
        hub = home.prepare(config, SystemClock(), fresh=fresh, on_step=on_step)
    console = Console(stderr=True, highlight=False)
    for line in banner.start_lines(_, url=f"http://{host}:{port}/", path=str(hub.home),
                                   result=hub.result, every=every, host=host):
        console.print(line, markup=False)
    console.print(banner.users_table(_))
    living = Living(hub.database_url, hub.workdir, every) if every else None
    with exported(hub.environment()):
        if living is not None:
            living.start()
        try:
            yield hub.config(config)
        finally:
            if living is not None:
                living.stop()
