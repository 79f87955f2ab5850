"""shared.config: settings from the environment; a secret is required and never empty."""

from __future__ import annotations

import pytest

from shared.config import ConfigError, Settings


def test_a_secret_left_out_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="INTERNAL_API_KEY must be set"):
        Settings.from_env({})


@pytest.mark.parametrize("empty", ["", "   ", "\t"])
def test_an_empty_secret_is_refused_at_start_because_it_would_match_an_empty_credential(empty: str) -> None:
    with pytest.raises(ConfigError, match="INTERNAL_API_KEY is empty"):
        Settings.from_env({"INTERNAL_API_KEY": empty})


def test_a_set_secret_is_read_and_never_shown() -> None:
    settings = Settings.from_env({"INTERNAL_API_KEY": "s3cret", "LOG_LEVEL": "DEBUG"})
    assert settings.internal_api_key == "s3cret" and settings.log_level == "DEBUG"
    assert settings.redacted()["internal_api_key"] == "***"
