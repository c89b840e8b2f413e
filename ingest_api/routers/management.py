"""The private management API under ``/v1/projects``.

Project-wide routes (create, list) take the operator's ``FEELBACK_ADMIN_TOKEN``; everything under
``/v1/projects/{project_id}`` takes that project's secret key (or the admin token), as
``Authorization: Bearer ...``, or a signed-in member of the project's organization with the role
``ingest_api.auth.permissions.ROUTE_ROLES`` names (checked by ``authorize``, run for every route of
this router). Keys are shown in full only in the response that creates them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from clickhouse_connect.driver.exceptions import ClickHouseError
from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feelback.control_plane.keys import KeyKind
from feelback.control_plane.models import ApiKey, ContentSet, Project, RecapSubscription, SignalTriage, TriageState, utcnow
from feelback.control_plane.projects import create_project, issue_key
from feelback.domain import SignalType, default_one_per_visitor, parse_type_config
from ingest_api import signal_queries
from ingest_api.auth.permissions import authorize, current_project
from ingest_api.dependencies import DbSession, get_warehouse, load_content_set
from ingest_api.errors import ApiError, conflict, invalid, not_found, validation_message
from ingest_api.management_schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    ContentSetCreate,
    ContentSetOut,
    ContentSetUpdate,
    ProjectCreate,
    ProjectCreated,
    ProjectOut,
    ProjectUpdate,
    Retention,
    SignalOut,
    SignalPage,
    SubscriptionCreate,
    SubscriptionOut,
    TriageOut,
    TriageUpdate,
)
from ingest_api.message_filters import checked_tags
from ingest_api.schema_types import Instant, RowId
from ingest_api.stats.measures import SentimentLabel

router = APIRouter(prefix="/v1/projects", tags=["management"], dependencies=[Depends(authorize)])
T = TypeVar("T")

CurrentProject = Annotated[Project, Depends(current_project)]


class WarehouseReads:
    """Runs ClickHouse reads for a route, connecting only when one is made.

    An unreachable or failing warehouse becomes a 503 naming the problem, not a crash.
    """

    def __init__(self, request: Request):
        self.request = request

    def __call__(self, function: Callable[..., T], *args: Any) -> T:
        try:
            return function(get_warehouse(self.request), *args)
        except (ClickHouseError, OSError) as exc:
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise ApiError(503, "warehouse_unavailable", f"ClickHouse could not answer: {reason}") from exc


Warehouse = Annotated[WarehouseReads, Depends(WarehouseReads)]


# --- projects ---------------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: ProjectCreate, session: DbSession) -> ProjectCreated:
    created = create_project(session, body.name, body.allowed_origins, body.timezone, body.retention_days)
    session.commit()
    return ProjectCreated(
        project=ProjectOut.model_validate(created.project), public_key=created.public_key, secret_key=created.secret_key
    )


@router.get("")
def list_projects(session: DbSession) -> list[ProjectOut]:
    projects = session.scalars(select(Project).order_by(Project.created_at, Project.id))
    return [ProjectOut.model_validate(project) for project in projects]


@router.get("/{project_id}")
def get_project(project: CurrentProject) -> ProjectOut:
    return ProjectOut.model_validate(project)


@router.patch("/{project_id}")
def update_project(body: ProjectUpdate, project: CurrentProject, session: DbSession) -> ProjectOut:
    for name, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            raise invalid(f"{name}: must not be null")
        setattr(project, name, value)
    session.commit()
    return ProjectOut.model_validate(project)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(project: CurrentProject, session: DbSession) -> Response:
    """Deletes the project's control-plane records; its events in ClickHouse are removed by retention."""
    session.delete(project)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{project_id}/retention")
def get_retention(project: CurrentProject) -> Retention:
    return Retention(days=project.retention_days)


@router.put("/{project_id}/retention")
def set_retention(body: Retention, project: CurrentProject, session: DbSession) -> Retention:
    project.retention_days = body.days
    session.commit()
    return Retention(days=project.retention_days)


# --- API keys ---------------------------------------------------------------------------------


@router.get("/{project_id}/keys")
def list_keys(project: CurrentProject, session: DbSession) -> list[ApiKeyOut]:
    keys = session.scalars(select(ApiKey).where(ApiKey.project_id == project.id).order_by(ApiKey.id))
    return [ApiKeyOut.model_validate(key) for key in keys]


@router.post("/{project_id}/keys", status_code=status.HTTP_201_CREATED)
def create_key(body: ApiKeyCreate, project: CurrentProject, session: DbSession) -> ApiKeyCreated:
    api_key, plaintext = issue_key(session, project, body.kind, body.name)
    session.commit()
    return ApiKeyCreated(api_key=ApiKeyOut.model_validate(api_key), key=plaintext)


@router.delete("/{project_id}/keys/{key_id}")
def revoke_key(key_id: RowId, project: CurrentProject, session: DbSession) -> ApiKeyOut:
    api_key = session.get(ApiKey, key_id)
    if api_key is None or api_key.project_id != project.id:
        raise not_found(f"no API key {key_id} in project {project.id!r}")
    if api_key.revoked_at is None:
        if api_key.kind is KeyKind.secret:
            active_secrets = session.scalars(
                select(ApiKey.id).where(
                    ApiKey.project_id == project.id, ApiKey.kind == KeyKind.secret, ApiKey.revoked_at.is_(None)
                )
            ).all()
            if active_secrets == [api_key.id]:
                raise conflict(f"key {api_key.display} is the project's last active secret key; create another one first")
        api_key.revoked_at = utcnow()
        session.commit()
    return ApiKeyOut.model_validate(api_key)


# --- content sets -----------------------------------------------------------------------------


def _checked_config(signal_type: SignalType, config: dict[str, Any] | None) -> dict[str, Any]:
    """The full configuration (defaults filled in) of ``signal_type``; 422 naming field and rule."""
    try:
        model = parse_type_config(signal_type, config)
    except ValidationError as exc:
        errors = [{**error, "loc": ("config", *error["loc"])} for error in exc.errors()]
        raise invalid(f"{validation_message(errors)} (for {signal_type} content sets)") from None
    return model.model_dump(mode="json")


@router.get("/{project_id}/content-sets")
def list_content_sets(project: CurrentProject, session: DbSession) -> list[ContentSetOut]:
    sets = session.scalars(select(ContentSet).where(ContentSet.project_id == project.id).order_by(ContentSet.key))
    return [ContentSetOut.model_validate(content_set) for content_set in sets]


@router.post("/{project_id}/content-sets", status_code=status.HTTP_201_CREATED)
def create_content_set(body: ContentSetCreate, project: CurrentProject, session: DbSession) -> ContentSetOut:
    content_set = ContentSet(
        project_id=project.id,
        key=body.key,
        name=body.name,
        signal_type=body.signal_type,
        config=_checked_config(body.signal_type, body.config),
        one_per_visitor=default_one_per_visitor(body.signal_type) if body.one_per_visitor is None else body.one_per_visitor,
        public_stats=body.public_stats,
    )
    if body.edit_window_seconds is not None:
        content_set.edit_window_seconds = body.edit_window_seconds
    session.add(content_set)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise conflict(f"project {project.id!r} already has a content set {body.key!r}") from None
    return ContentSetOut.model_validate(content_set)


@router.get("/{project_id}/content-sets/{set_key}")
def get_content_set(set_key: str, project: CurrentProject, session: DbSession) -> ContentSetOut:
    return ContentSetOut.model_validate(load_content_set(session, project.id, set_key))


@router.patch("/{project_id}/content-sets/{set_key}")
def update_content_set(
    set_key: str, body: ContentSetUpdate, project: CurrentProject, session: DbSession, warehouse: Warehouse
) -> ContentSetOut:
    content_set = load_content_set(session, project.id, set_key)
    changes = body.model_dump(exclude_unset=True)
    for name in ("name", "signal_type", "edit_window_seconds", "one_per_visitor", "public_stats"):
        if name in changes and changes[name] is None:
            raise invalid(f"{name}: must not be null")
    new_type = changes.pop("signal_type", content_set.signal_type)
    if new_type != content_set.signal_type:
        if warehouse(signal_queries.content_set_has_signals, project.id, set_key):
            raise conflict(
                f"content set {set_key!r} already has {content_set.signal_type} signals; its type cannot change "
                f"to {new_type}. Create a new content set instead"
            )
        content_set.signal_type = new_type
        # A new type starts from its own defaults unless a configuration comes with it.
        changes.setdefault("config", None)
    if "config" in changes:
        content_set.config = _checked_config(new_type, changes.pop("config"))
    for name, value in changes.items():
        setattr(content_set, name, value)
    session.commit()
    return ContentSetOut.model_validate(content_set)


@router.delete("/{project_id}/content-sets/{set_key}", status_code=status.HTTP_204_NO_CONTENT)
def delete_content_set(set_key: str, project: CurrentProject, session: DbSession, warehouse: Warehouse) -> Response:
    content_set = load_content_set(session, project.id, set_key)
    if warehouse(signal_queries.content_set_has_signals, project.id, set_key):
        raise conflict(f"content set {set_key!r} has signals; it cannot be deleted while they are kept")
    session.delete(content_set)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- recap subscriptions ----------------------------------------------------------------------


@router.get("/{project_id}/recap-subscriptions")
def list_subscriptions(
    project: CurrentProject, session: DbSession, include_unsubscribed: bool = False
) -> list[SubscriptionOut]:
    query = select(RecapSubscription).where(RecapSubscription.project_id == project.id)
    if not include_unsubscribed:
        query = query.where(RecapSubscription.unsubscribed_at.is_(None))
    subscriptions = session.scalars(query.order_by(RecapSubscription.id))
    return [SubscriptionOut.model_validate(subscription) for subscription in subscriptions]


@router.post("/{project_id}/recap-subscriptions", status_code=status.HTTP_201_CREATED)
def subscribe(body: SubscriptionCreate, project: CurrentProject, session: DbSession, response: Response) -> SubscriptionOut:
    existing = session.scalar(
        select(RecapSubscription).where(
            RecapSubscription.project_id == project.id,
            RecapSubscription.email == body.email,
            RecapSubscription.frequency == body.frequency,
        )
    )
    if existing is not None:
        existing.unsubscribed_at = None
        response.status_code = status.HTTP_200_OK
        subscription = existing
    else:
        subscription = RecapSubscription(project_id=project.id, email=body.email, frequency=body.frequency)
        session.add(subscription)
    session.commit()
    return SubscriptionOut.model_validate(subscription)


@router.delete("/{project_id}/recap-subscriptions/{subscription_id}")
def unsubscribe(subscription_id: RowId, project: CurrentProject, session: DbSession) -> SubscriptionOut:
    subscription = session.get(RecapSubscription, subscription_id)
    if subscription is None or subscription.project_id != project.id:
        raise not_found(f"no recap subscription {subscription_id} in project {project.id!r}")
    if subscription.unsubscribed_at is None:
        subscription.unsubscribed_at = utcnow()
        session.commit()
    return SubscriptionOut.model_validate(subscription)


# --- signals and triage -----------------------------------------------------------------------


def _triage_ids(session: Session, project_id: str, states: list[TriageState]) -> list[str]:
    return list(
        session.scalars(
            select(SignalTriage.signal_id).where(SignalTriage.project_id == project_id, SignalTriage.state.in_(states))
        )
    )


@router.get("/{project_id}/signals")
def list_signals(
    project: CurrentProject,
    session: DbSession,
    warehouse: Warehouse,
    content_set: str | None = None,
    content_key: str | None = None,
    signal_type: Annotated[SignalType | None, Query(alias="type")] = None,
    since: Annotated[Instant | None, Query(description="Signals created at or after (ISO 8601)")] = None,
    until: Annotated[Instant | None, Query(description="Signals created before (ISO 8601)")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text to find in messages (any case)")] = None,
    triage: Annotated[TriageState | None, Query(description="Only message signals in this triage state")] = None,
    tag: Annotated[
        list[str] | None,
        Query(description="Only message signals with any of these tags (repeat the parameter); each must be a tag "
              "configured on the project's feedback forms, or on content_set's when it is given"),
    ] = None,
    sentiment: Annotated[
        SentimentLabel | None,
        Query(description="Only message signals whose current text was scored with this sentiment (VADER's "
              "thresholds, as the stats count it); texts the pipeline has not scored yet match none"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> SignalPage:
    """Signals' current state (latest edit; revoked ones left out), newest first."""
    if since and until and since >= until:
        raise invalid(f"since: must be before until (got {since.isoformat()} and {until.isoformat()})")
    for name, asked in (("tag", tag), ("sentiment", sentiment)):
        if asked and signal_type not in (None, SignalType.message):
            raise invalid(f"{name}: only message signals are filtered by {name} (type={signal_type} was asked)")
    filters = signal_queries.SignalFilters(
        content_set=content_set,
        content_key=content_key,
        signal_type=signal_type.value if signal_type else None,
        since=since,
        until=until,
        text=q,
        tags=checked_tags(session, project.id, content_set, tag or []),
        sentiment=sentiment,
    )
    if tag or sentiment:
        filters.signal_type = SignalType.message.value
    if triage is not None:
        if signal_type not in (None, SignalType.message):
            raise invalid(f"triage: only message signals have a triage state (type={signal_type} was asked)")
        filters.signal_type = SignalType.message.value
        if triage is TriageState.new:
            filters.except_ids = _triage_ids(session, project.id, [TriageState.read, TriageState.archived])
        else:
            filters.only_ids = _triage_ids(session, project.id, [triage])
    if cursor is not None:
        try:
            signal_queries.decode_cursor(cursor)
        except ValueError as exc:
            raise invalid(f"cursor: {exc}") from None
    rows, next_cursor = warehouse(signal_queries.list_signals, project.id, filters, limit, cursor)
    sentiments = warehouse(signal_queries.message_sentiments, project.id, rows)

    states = {
        triage.signal_id: triage.state
        for triage in session.scalars(
            select(SignalTriage).where(
                SignalTriage.project_id == project.id, SignalTriage.signal_id.in_([row["signal_id"] for row in rows])
            )
        )
    }
    signals = [
        SignalOut(
            **row,
            triage=states.get(row["signal_id"], TriageState.new) if row["signal_type"] == SignalType.message else None,
            sentiment=sentiments.get(row["signal_id"]),
        )
        for row in rows
    ]
    return SignalPage(signals=signals, next_cursor=next_cursor)


@router.put("/{project_id}/signals/{signal_id}/triage")
def set_triage(
    signal_uuid: Annotated[uuid.UUID, Path(alias="signal_id")],
    body: TriageUpdate,
    project: CurrentProject,
    session: DbSession,
    warehouse: Warehouse,
) -> TriageOut:
    signal_id = str(signal_uuid)
    signal_type = warehouse(signal_queries.signal_type_of, project.id, signal_id)
    if signal_type is None:
        raise not_found(f"no signal {signal_id} in project {project.id!r}")
    if signal_type != SignalType.message:
        raise conflict(f"signal {signal_id} is a {signal_type} signal; only message signals have a triage state")
    triage = session.get(SignalTriage, (project.id, signal_id))
    if triage is None:
        triage = SignalTriage(project_id=project.id, signal_id=signal_id, state=body.state)
        session.add(triage)
    else:
        triage.state = body.state
        triage.updated_at = utcnow()
    session.commit()
    return TriageOut(signal_id=signal_id, state=triage.state, updated_at=triage.updated_at)
