"""Environment readers and the frozen Settings base every service's settings extend."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any, TypeVar, get_type_hints

T = TypeVar("T", bound="Settings")


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; the service refuses to start."""


def setting(env: str, default: Any = dataclasses.MISSING, *, secret: bool = False) -> Any:
    """Declare a Settings field read from environment variable `env`.

    Secrets get no default: a deployment must provide them (the local launcher generates them).
    """
    return dataclasses.field(default=default, metadata={"env": env, "secret": secret})


def _convert(raw: str, kind: Any, env: str) -> Any:
    try:
        if kind is bool:
            if raw.strip().lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.strip().lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind == tuple[str, ...]:
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{env}={raw!r} is not a valid {getattr(kind, '__name__', kind)}") from exc
    return raw


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Base of every service's settings; read once with `from_env`."""

    database_url: str = setting("DATABASE_URL", "sqlite:///var/service.db")
    internal_api_key: str = setting("INTERNAL_API_KEY", secret=True)
    log_level: str = setting("LOG_LEVEL", "INFO")
    max_content_length: int = setting("MAX_CONTENT_LENGTH", 1_048_576)

    @classmethod
    def from_env(cls: type[T], env: Mapping[str, str] | None = None) -> T:
        """Build settings from `env` (default: os.environ); raise ConfigError when a secret is missing or empty."""
        source = os.environ if env is None else env
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            name = field.metadata.get("env", field.name.upper())
            if name in source:
                # A required secret left empty would match an empty credential (an empty header or form field);
                # an optional one (a default of "") empty means "not given".
                required = field.metadata.get("secret") and field.default is dataclasses.MISSING
                if required and not str(source[name]).strip():
                    raise ConfigError(f"{name} is empty: set it to a secret value")
                values[field.name] = _convert(str(source[name]), hints[field.name], name)
            elif field.default is dataclasses.MISSING:
                raise ConfigError(f"{name} must be set (it is a secret and has no default)")
        return cls(**values)

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict safe to log: secrets replaced by '***'."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            out[field.name] = "***" if field.metadata.get("secret") else value
        return out
