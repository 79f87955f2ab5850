"""The directory's configuration, read once from the environment (a tenant's settings: provisioning_settings.py)."""

from dataclasses import dataclass

from shared.config import Settings, setting


@dataclass(frozen=True, kw_only=True)
class DirectorySettings(Settings):
    database_url: str = setting("DATABASE_URL", "sqlite:///var/directory.db")
    # The admin API checks admin keys with the token service (shared.admin_auth).
    token_service_url: str = setting("TOKEN_SERVICE_URL", "http://127.0.0.1:8001")
    internal_timeout_seconds: float = setting("INTERNAL_TIMEOUT_SECONDS", 10.0)
    # R-DIR-12: where an invitation tells the user to register (none: the mail says nothing of where). The mail
    # transport is read from the environment by mail.sender_from_env (SMTP_*, MAIL_OUTBOX_FILE, MAIL_FROM).
    invitation_register_url: str = setting("INVITATION_REGISTER_URL", "")
