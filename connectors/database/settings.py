"""``kind: database`` keys in ``config/apps.yaml``: where the database is, which secret
holds its password, and the named queries bots use."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class DatabaseSettings(BaseModel):
    """An app's database: a SQLAlchemy URL *without* its password (``credential:`` names
    the secret that holds it), and ``queries:`` by name (parameters as ``:name``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: str = Field(description="SQLAlchemy URL, e.g. postgresql+psycopg://rpa@db:5432/revenues")
    credential: str | None = Field(default=None, description="secret holding the password")
    queries: dict[str, str] = Field(default_factory=dict, description="name: SQL with :params")
    timeout_seconds: float = Field(default=30, gt=0, description="connect and lock waits")

    @field_validator("url")
    @classmethod
    def _no_password(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a SQLAlchemy URL (dialect+driver://user@host:port/database)"
            ) from None
        if url.password:
            raise ValueError(
                "the URL holds a password: remove it and name a secret with credential: "
                "(`borough secrets set NAME`)"
            )
        return value
