"""The FastAPI application and ``tickforge serve``.

``create_app(settings)`` applies the Alembic migrations, then serves the API;
``serve(host, port, lake, workers)`` runs it under uvicorn with ``workers`` embedded job
worker processes sharing the same database and lake.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tickforge.service import problems
from tickforge.service.artifacts import ArtifactStore
from tickforge.service.db.session import Database, migrate
from tickforge.service.deps import ServiceState, TokenBucket
from tickforge.service.metrics import LatencyMiddleware, make_registry
from tickforge.service.paper.service import PaperDesk
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
        yield
        db.dispose()

    app = FastAPI(title="tickforge", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.service = state
    registry, histogram = make_registry(db)
    app.state.registry = registry
    app.add_middleware(LatencyMiddleware, histogram=histogram)
    problems.install(app)
    app.include_router(system.router)
    app.include_router(data.router)
    for router in jobs.ROUTERS:
        app.include_router(router)
    app.include_router(accounts.router)
    install_web(app)
    return app


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
    app = create_app(settings)
    procs = start_processes(settings, workers) if workers > 0 else []
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(10)
