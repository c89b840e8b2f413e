"""``GET /v1/key``: the project and key behind a secret key, so a client holding only the key
(the panel's key sign-in, scripts) can find its project without knowing the project's id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from ingest_api.dependencies import KeyAuth, require_secret_key
from ingest_api.management_schemas import ApiKeyOut, ProjectOut

router = APIRouter(tags=["management"])


class KeyOwner(BaseModel):
    project: ProjectOut
    api_key: ApiKeyOut


@router.get(
    "/v1/key",
    summary="The project of a secret key",
    responses={401: {"description": "Missing, unknown or revoked key"}, 403: {"description": "A public key was sent"}},
)
def key_owner(auth: Annotated[KeyAuth, Depends(require_secret_key)]) -> KeyOwner:
    return KeyOwner(project=ProjectOut.model_validate(auth.project), api_key=ApiKeyOut.model_validate(auth.api_key))
