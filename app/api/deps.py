"""Typed dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.context import RequestContext, request_context
from app.api.state import ServiceState


# async: FastAPI runs a plain function dependency on its thread pool, a hop per request each (measured in bench)
async def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.tapflow
    return state


async def get_request_context(request: Request) -> RequestContext:
    return request_context(request.scope)


StateDep = Annotated[ServiceState, Depends(get_state)]
ContextDep = Annotated[RequestContext, Depends(get_request_context)]
