"""The notifications service's configuration, read once from the environment."""

from dataclasses import dataclass

from shared.config import Settings, setting


@dataclass(frozen=True, kw_only=True)
class NotificationsSettings(Settings):
    database_url: str = setting("DATABASE_URL", "sqlite:///var/notifications.db")
