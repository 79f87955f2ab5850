"""The SCIM API's configuration, read once from the environment."""

from dataclasses import dataclass

from shared.config import Settings, setting


@dataclass(frozen=True, kw_only=True)
class ScimSettings(Settings):
    database_url: str = setting("DATABASE_URL", "")  # stateless: holds no database
    token_service_url: str = setting("TOKEN_SERVICE_URL", "http://127.0.0.1:8001")
    directory_url: str = setting("DIRECTORY_URL", "http://127.0.0.1:8002")
    public_base_url: str = setting("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    token_algorithms: tuple[str, ...] = setting("TOKEN_ALGORITHMS", ("EdDSA",))
    token_issuer: str = setting("TOKEN_ISSUER", "scim-target")
    # Upper bound on trusting a token state; the token service may ask for less (R-TOK-5: 5 s).
    token_state_cache_seconds: float = setting("TOKEN_STATE_CACHE_SECONDS", 5.0)
    internal_timeout_seconds: float = setting("INTERNAL_TIMEOUT_SECONDS", 10.0)
