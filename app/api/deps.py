"""Typed dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.state import ServiceState


def get_state(request: Request) -> ServiceState:
    return request.app.state.tapflow


StateDep = Annotated[ServiceState, Depends(get_state)]
