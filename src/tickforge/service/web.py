"""Serve the built React app (``web/dist``) at ``/`` with client-side routing.

Hashed files under ``/assets/`` are cached for good (their names change with their
content); every other GET outside the API answers ``index.html`` with ``no-cache`` so a
deep link such as ``/backtests/12`` opens the app, which then routes on the client.
API paths are never shadowed: unknown ``/v1/...`` paths stay problem+json 404s.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response

from tickforge.service.problems import Problem

API_PREFIXES = ("v1/", "v1", "health", "metrics", "docs", "redoc", "openapi.json")
IMMUTABLE = "public, max-age=31536000, immutable"


def web_dist() -> Path:
    """``TICKFORGE_WEB_DIST``, else ``web/dist`` of the source checkout."""
    env = os.environ.get("TICKFORGE_WEB_DIST")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "web" / "dist"


def install_web(app: FastAPI, dist: Path | None = None) -> bool:
    """Add the app's routes after the API routers; False when no build is there."""
    root = (dist or web_dist()).resolve()
    index = root / "index.html"
    if not index.is_file():
        return False

    @app.get("/assets/{name:path}", include_in_schema=False)
    def asset(name: str) -> Response:
        path = (root / "assets" / name).resolve()
        if not path.is_file() or not path.is_relative_to(root / "assets"):
            raise Problem(404, f"no asset named '{name}'")
        return FileResponse(path, headers={"Cache-Control": IMMUTABLE})

    @app.get("/{path:path}", include_in_schema=False)
    def spa(path: str) -> Response:
        if path.startswith(API_PREFIXES):
            raise Problem(404, f"no such endpoint: /{path}")
        static = (root / path).resolve()
        if path and static.is_file() and static.is_relative_to(root):
            return FileResponse(static, headers={"Cache-Control": "no-cache"})
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    return True
