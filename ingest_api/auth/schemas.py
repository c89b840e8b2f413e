"""Request and response bodies of the accounts and organizations routes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from feelback.control_plane.account_models import Role
from feelback.control_plane.organizations import MAX_ORG_NAME_LENGTH, check_org_name
from feelback.control_plane.passwords import MAX_PASSWORD_LENGTH
from feelback.control_plane.users import normalize_account_email
from ingest_api.schema_types import SingleLine

AccountEmail = Annotated[str, Field(max_length=254), AfterValidator(normalize_account_email)]
Password = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
Token = Annotated[str, Field(min_length=1, max_length=2000)]
OrgName = Annotated[str, Field(min_length=1, max_length=MAX_ORG_NAME_LENGTH), AfterValidator(check_org_name)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignUp(_Body):
    email: AccountEmail
    password: Password = Field(description="At least 10 characters")
    name: Annotated[SingleLine, Field(max_length=200)] = ""


class SignIn(_Body):
    email: AccountEmail
    password: Password


class EmailRequest(_Body):
    email: AccountEmail


class TokenBody(_Body):
    token: Token


class PasswordResetConfirm(_Body):
    token: Token
    password: Password


class PasswordChange(_Body):
    current_password: Password | None = Field(None, description="Needed when the account has a password")
    new_password: Password


class EmailChange(_Body):
    new_email: AccountEmail
    password: Password | None = Field(None, description="Needed when the account has a password")


class AccountDelete(_Body):
    password: Password | None = Field(None, description="Needed when the account has a password")


class ProfileUpdate(_Body):
    name: Annotated[SingleLine, Field(max_length=200)]


class Accepted(BaseModel):
    message: str


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    verified_at: dt.datetime | None
    created_at: dt.datetime
    has_password: bool


class OrganizationOut(BaseModel):
    id: str
    name: str
    created_at: dt.datetime
    role: Role = Field(description="The caller's role in it")


class MeOut(BaseModel):
    user: UserOut
    organizations: list[OrganizationOut]
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every change made with this session")
    session_expires_at: dt.datetime = Field(description="When the session ends unless used before (idle) or at the latest")


class OrganizationCreate(_Body):
    name: OrgName


class OrganizationUpdate(_Body):
    name: OrgName


class MemberOut(BaseModel):
    user_id: str
    email: str
    name: str
    role: Role
    joined_at: dt.datetime


class RoleUpdate(_Body):
    role: Role


class InvitationCreate(_Body):
    email: AccountEmail
    role: Role = Role.viewer


class InvitationOut(BaseModel):
    id: int
    organization_id: str
    email: str
    role: Role
    created_at: dt.datetime
    expires_at: dt.datetime
    status: str = Field(description="open, accepted, withdrawn or expired")


class InvitationPreview(BaseModel):
    organization_name: str
    email: str
    role: Role
    expires_at: dt.datetime
    status: str
