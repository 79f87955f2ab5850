"""The four services as the launcher, compose.yaml and the tests know them: names, apps, ports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # folder under services/ and compose service name
    app: str  # gunicorn application spec
    port_env: str  # environment variable overriding the port
    default_port: int
    url_env: str  # how the other services find this one
    has_database: bool = True  # scim-api is stateless


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("token-service", "token_service:create_app()", "TOKEN_SERVICE_PORT", 8001, "TOKEN_SERVICE_URL"),
    ServiceSpec("directory", "directory:create_app()", "DIRECTORY_PORT", 8002, "DIRECTORY_URL"),
    ServiceSpec("notifications", "notifications:create_app()", "NOTIFICATIONS_PORT", 8003, "NOTIFICATIONS_URL"),
    ServiceSpec("scim-api", "scim_api:create_app()", "SCIM_API_PORT", 8000, "SCIM_API_URL", has_database=False),
)

# Each service reads these names; the launcher and compose.yaml must both provide them.
SHARED_ENV = ("DATABASE_URL", "INTERNAL_API_KEY", "LOG_LEVEL", "PUBLIC_BASE_URL")
SERVICE_ENV: dict[str, tuple[str, ...]] = {
    "token-service": ("ADMIN_API_KEY", "TOKEN_SIGNING_KEY_FILE"),
    "directory": ("TOKEN_SERVICE_URL",),
    "notifications": ("TOKEN_SERVICE_URL", "DIRECTORY_URL"),
    "scim-api": ("TOKEN_SERVICE_URL", "DIRECTORY_URL"),
}


def by_name(name: str) -> ServiceSpec:
    return next(s for s in SERVICES if s.name == name)
