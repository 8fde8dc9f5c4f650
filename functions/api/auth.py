"""Who is calling: roles from local bearer tokens or from Cognito's JWT claims (SPEC §5)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from shared.core.config import Settings


class Role(IntEnum):
    """Ordered: each role can do everything the ones below it can."""

    VIEWER = 1
    SUPERVISOR = 2
    ADMIN = 3


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role


class Unauthenticated(Exception):
    """No credentials, or credentials we do not recognise (401)."""


def parse_token_table(raw: str) -> list[tuple[Role, str]]:
    """`"admin:s3cret,viewer:abc"` -> [(ADMIN, "s3cret"), (VIEWER, "abc")]; malformed entries fail loudly."""
    table: list[tuple[Role, str]] = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        role_name, sep, token = entry.partition(":")
        if not sep or not token:
            raise ValueError("COBRANCA_API_TOKENS entries must look like role:token")
        try:
            role = Role[role_name.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {role_name.strip()!r} in COBRANCA_API_TOKENS") from None
        table.append((role, token.strip()))
    return table


def principal_from_token(token: str, settings: Settings) -> Principal:
    """Match a bearer token against COBRANCA_API_TOKENS in constant time."""
    raw = settings.cobranca_api_tokens.get_secret_value() if settings.cobranca_api_tokens else ""
    match: Role | None = None
    for role, known in parse_token_table(raw):
        # Compare against every entry so timing does not reveal which one matched.
        if hmac.compare_digest(token.encode(), known.encode()):
            match = role
    if match is None:
        raise Unauthenticated("invalid token")
    return Principal(subject=f"token:{match.name.lower()}", role=match)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Cognito puts groups in `cognito:groups`; API Gateway may render the list as "[a b]"."""
    groups = claims.get("cognito:groups") or []
    if isinstance(groups, str):
        groups = groups.strip("[]").replace(",", " ").split()
    roles = [Role[g.upper()] for g in groups if g.upper() in Role.__members__]
    if not roles:
        raise Unauthenticated("the token carries no Cobrança group")
    return Principal(subject=str(claims.get("sub", "unknown")), role=max(roles))
