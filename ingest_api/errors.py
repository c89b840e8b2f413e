"""One JSON error shape for every 4xx/5xx: ``{"error": {"code": "...", "message": "..."}}``.

Contract: raise ``ApiError(status, code, message)`` (or one of the helpers ``not_found``,
``conflict``, ``unauthorized``, ``forbidden``, ``invalid``) anywhere in a request;
``install_error_handlers(app)`` renders it, plain ``HTTPException``s and request-validation errors
(rewritten into plain words naming the field, e.g. ``body.config.scale: must be one of 5, 7, 10``).
``validation_message(errors)`` turns pydantic error dicts into that sentence, for reuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from sqlalchemy.exc import DataError
from starlette.routing import Match

log = structlog.get_logger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def conflict(message: str) -> ApiError:
    return ApiError(409, "conflict", message)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(message: str, code: str = "forbidden") -> ApiError:
    return ApiError(403, code, message)


def invalid(message: str, code: str = "invalid_request") -> ApiError:
    return ApiError(422, code, message)


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def _field_name(loc: Sequence[Any]) -> str:
    # FastAPI prefixes the source (body/query/path/header); keep it only when it is all there is.
    parts = [str(part) for part in loc]
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    # Union members add the model's name to the location; it tells a reader nothing.
    parts = [part for part in parts if not part[:1].isupper() and not part.startswith("function-")]
    return ".".join(parts) or "request"


def _rule(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    message = str(error.get("msg", "is invalid"))
    context = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "literal_error" and "expected" in context:
        return f"must be one of {context['expected'].replace(' or ', ', ').replace(chr(39), '')}"
    if kind == "enum" and "expected" in context:
        return f"must be one of {context['expected'].replace(' or ', ', ').replace(chr(39), '')}"
    if kind in ("value_error", "assertion_error"):
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "string_pattern_mismatch" and "pattern" in context:
        return f"must match the pattern {context['pattern']}"
    if kind == "json_invalid":
        return f"is not valid JSON ({context.get('error', 'parse error')})"
    text = message[:1].lower() + message[1:]
    if text.startswith("input should be "):
        return "must be " + text.removeprefix("input should be ")
    return text


def validation_message(errors: Iterable[dict[str, Any]]) -> str:
    """``field: rule`` for each error, joined by ``; ``, with the offending value where it is short."""
    parts = []
    for error in errors:
        rule = _rule(error)
        given = error.get("input")
        if (
            error.get("type") not in ("missing", "extra_forbidden")
            and isinstance(given, (str, int, float, bool))
            and repr(given) not in rule
        ):
            shown = repr(given) if len(repr(given)) <= 60 else repr(given)[:57] + "...'"
            rule = f"{rule} (got {shown})"
        parts.append(f"{_field_name(error.get('loc', ()))}: {rule}")
    return "; ".join(dict.fromkeys(parts)) or "request is invalid"


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette's 405 names only the first route's)."""
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def _code_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", validation_message(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = getattr(exc, "headers", None)
        if exc.status_code == 404 and message == "Not Found":
            message = "no such route"
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
            message = f"{request.method} is not served here; allowed: {headers['Allow']}"
        return error_response(exc.status_code, _code_for(exc.status_code), message, headers)

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # The control-plane DB refused a value the request carried (PostgreSQL keeps no NUL in text,
        # and bounds its numbers): the request's fault, not the server's.
        reason = str(exc.orig).strip().splitlines()[0][:200] if exc.orig else type(exc).__name__
        log.warning("unstorable_value", path=request.url.path, method=request.method, reason=reason)
        rule = "holds a NUL character" if "NUL" in reason or "0x00" in reason else "is out of the range the database stores"
        return error_response(422, "invalid_request", f"request: a value in it {rule}; remove it and try again")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", path=request.url.path, method=request.method, exc_info=exc)
        return error_response(500, "internal_error", "the server failed to handle this request; it has been logged")
