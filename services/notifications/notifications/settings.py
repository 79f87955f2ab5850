"""The notifications service's configuration, read once from the environment."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from shared.config import Settings, setting


@dataclass(frozen=True, kw_only=True)
class NotificationsSettings(Settings):
    database_url: str = setting("DATABASE_URL", "sqlite:///var/notifications.db")
    token_service_url: str = setting("TOKEN_SERVICE_URL", "http://127.0.0.1:8001")
    # The directory's outbox of sync outcomes, read by the relay (relay.py).
    directory_url: str = setting("DIRECTORY_URL", "http://127.0.0.1:8002")
    # How often each worker reads the outbox; 0 turns the background relay off.
    relay_seconds: float = setting("RELAY_SECONDS", 5.0)
    public_base_url: str = setting("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    # R-NOT-1: Entra cycles run about every 40 minutes; silence longer than this is "unreachable".
    silence_threshold_seconds: float = setting("ENTRA_SILENCE_THRESHOLD_SECONDS", 7200.0)
    # How often each worker asks the token service; 0 turns the background check off.
    silence_check_seconds: float = setting("SILENCE_CHECK_SECONDS", 60.0)
    # Signs the page's session cookie; derived from INTERNAL_API_KEY when not given.
    session_secret: str = setting("SESSION_SECRET", "", secret=True)
    session_hours: float = setting("SESSION_HOURS", 8.0)
    webhook_timeout_seconds: float = setting("WEBHOOK_TIMEOUT_SECONDS", 5.0)
    webhook_attempts: int = setting("WEBHOOK_ATTEMPTS", 3)

    def session_key(self) -> bytes:
        """SESSION_SECRET, or a key derived from the service credential so local runs need no new secret."""
        if self.session_secret:
            return self.session_secret.encode()
        return hmac.new(self.internal_api_key.encode(), b"notifications-session-cookie", hashlib.sha256).digest()
