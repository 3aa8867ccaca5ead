"""The FastAPI application: ``create_app(settings)``; resources open in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.api import problems
from app.api.caching import CacheMiddleware
from app.api.routes import admin, deprecations, entities, health, impact, lineage, metrics, query, usage
from app.api.state import ServiceState
from app.api.usage import UsageMiddleware
from app.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.tapflow = ServiceState.open(settings)
        try:
            yield
        finally:
            app.state.tapflow.close()

    app = FastAPI(
        title="TapFlow Metrics",
        version=__version__,
        description="A semantic metrics layer: governed metric definitions compiled to SQL and served over HTTP.",
        lifespan=lifespan,
    )
    problems.install(app)
    for module in (health, metrics, query, entities, deprecations, usage, lineage, impact, admin):
        app.include_router(module.router)
    app.add_middleware(CacheMiddleware)  # inner: usage events are recorded for cache hits too
    if settings.usage_tracking:
        app.add_middleware(UsageMiddleware)
    return app
