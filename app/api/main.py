"""The FastAPI application: ``create_app(settings)``; resources open in the lifespan."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.api import problems
from app.api.auth import AuthMiddleware, Keyring
from app.api.caching import CacheMiddleware
from app.api.lane import MetricDataLane
from app.api.limits import BodyLimitMiddleware
from app.api.routes import (
    admin,
    cohorts,
    deprecations,
    entities,
    health,
    impact,
    lineage,
    metrics,
    preaggregations,
    query,
    status,
    ui,
    usage,
)
from app.api.schemas import ERRORS
from app.api.state import ServiceState
from app.api.tracking import UsageMiddleware
from app.errors import DefinitionError
from app.settings import Settings, get_settings
from app.web.render import STATIC

log = logging.getLogger("tapflow")


def create_app(settings: Settings | None = None, *, state: ServiceState | None = None) -> FastAPI:
    """The application; its lifespan opens the service state (or takes ``state``, already open) and
    closes it at shutdown."""
    settings = settings or get_settings()
    keyring = Keyring.load(settings.api_keys_file) if settings.api_keys_file else None
    opened = state

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = opened or ServiceState.open(settings)
        app.state.tapflow = state
        state.builder.app = app  # builds warm the answers most asked for (warming.py)
        loop = asyncio.get_running_loop()
        with suppress(ValueError, RuntimeError, NotImplementedError):  # only the main thread may
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, _reload_logged, state))
        try:
            yield
        finally:
            with suppress(ValueError, RuntimeError, NotImplementedError):
                loop.remove_signal_handler(signal.SIGHUP)
            state.close()

    app = FastAPI(
        title="TapFlow Metrics",
        version=__version__,
        description="A semantic metrics layer: governed metric definitions compiled to SQL and served over HTTP.",
        lifespan=lifespan,
    )
    problems.install(app)
    for module in (
        health,
        metrics,
        query,
        cohorts,
        entities,
        deprecations,
        usage,
        lineage,
        impact,
        status,
        preaggregations,
        admin,
        ui,
    ):
        app.include_router(module.router, responses=ERRORS)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    # First added is innermost: usage -> body limit -> auth -> result cache -> metric data lane -> routes. The outermost
    # that needs the request context creates it (context.request_context).
    app.add_middleware(MetricDataLane)
    app.add_middleware(CacheMiddleware)
    if keyring is not None:
        app.add_middleware(AuthMiddleware, keyring=keyring)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.usage_tracking:
        app.add_middleware(UsageMiddleware, keys_on=keyring is not None)
    return app


def _reload_logged(state: ServiceState) -> None:
    try:
        project = state.reload()
        log.warning("SIGHUP: definitions reloaded (hash %s)", project.hash[:12])
    except DefinitionError as exc:
        log.error("SIGHUP: definitions NOT reloaded; the last valid set keeps serving.\n%s", exc.detail)
