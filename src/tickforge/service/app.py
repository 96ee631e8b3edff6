"""The FastAPI application and ``tickforge serve``.

``create_app(settings)`` applies the Alembic migrations, then serves the API;
``serve(host, port, lake, workers)`` runs it under uvicorn with ``workers`` embedded job
worker processes sharing the same database and lake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from tickforge.service import problems
from tickforge.service.artifacts import ArtifactStore
from tickforge.service.db.session import Database, migrate
from tickforge.service.deps import ServiceState, TokenBucket
from tickforge.service.hotpath import HotPaths
from tickforge.service.metrics import LatencyMiddleware, make_registry
from tickforge.service.paper.service import PaperDesk, match_forever
from tickforge.service.routes import accounts, data, jobs, system
from tickforge.service.settings import ServiceSettings, get_settings
from tickforge.service.web import install_web

DESCRIPTION = """Market data, durable backtest / sweep / walk-forward jobs and paper trading.
Authenticate with `Authorization: Bearer <API key>` (`tickforge users create NAME`).
Errors are `application/problem+json` documents naming the offending `field`."""


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    migrate(settings.database_url)
    db = Database(settings.database_url)
    state = ServiceState(settings=settings, db=db, store=ArtifactStore(settings.artifacts),
                         limiter=TokenBucket(settings.write_rate, settings.write_burst))
    state.paper = PaperDesk(db, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        matcher = None
        if settings.paper_match_seconds > 0:
            matcher = asyncio.create_task(match_forever(state.paper,
                                                        settings.paper_match_seconds))
        yield
        if matcher is not None:
            matcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await matcher
        db.dispose()

    app = FastAPI(title="tickforge", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.service = state
    registry, histogram = make_registry(db)
    app.state.registry = registry
    app.add_middleware(HotPaths, state=state, route=_route(accounts.router, "get_portfolio"))
    app.add_middleware(LatencyMiddleware, histogram=histogram)
    problems.install(app)
    # FastAPI matches included routers in order: the hot paper-trading routes go first
    app.include_router(accounts.router)
    app.include_router(system.router)
    app.include_router(data.router)
    for router in jobs.ROUTERS:
        app.include_router(router)
    install_web(app)
    return app


def _route(router: Any, name: str) -> Any:
    return next((r for r in router.routes if getattr(r, "name", None) == name), None)


def serve(host: str = "127.0.0.1", port: int = 8000, lake: str | None = None,
          workers: int = 1) -> None:
    """``tickforge serve``: the API plus ``workers`` embedded job worker processes."""
    import uvicorn

    from tickforge.service.jobs.worker import start_processes

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    if lake:
        settings = settings.model_copy(update={"lake": lake})
        os.environ["TICKFORGE_LAKE"] = lake
    app = None if settings.http_processes > 1 else create_app(settings)
    procs = start_processes(settings, workers) if workers > 0 else []
    try:
        if app is not None:
            uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
        else:
            migrate(settings.database_url)
            run_processes(host, port, settings.http_processes)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(10)


def run_processes(host: str, port: int, count: int) -> None:
    """``count`` uvicorn worker processes on one listening socket, each building its app
    from the environment. The socket is made with ``IPPROTO_TCP`` (uvicorn's own has proto
    0): asyncio then sets TCP_NODELAY on accepted connections; without it a keep-alive
    client waits ~40 ms per response (Nagle's algorithm against delayed ACKs)."""
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("tickforge.service.app:create_app", factory=True, host=host,
                            port=port, workers=count, log_level="warning", access_log=False)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()
