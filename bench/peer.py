"""The peer: python's `scim2-server` from PyPI, built as its `scim2-server` command builds it
(scim2_server.testserver.cli.main: default schemas and resource types, in-memory storage, static
bearer token), but served by the same gunicorn configuration as our services instead of wsgiref's
HTTP/1.0 server, so that both sides get keep-alive and threads.

Its storage lives in the process, so it runs one gunicorn worker (BENCH_PEER_TOKEN is the token).
Served at http://<bind>/v2.
"""

from __future__ import annotations

import os
import secrets

from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)


def create_app() -> BearerTokenApplication:
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(load_default_schemas().values(), load_default_resource_types().values(),
                                           config=config)
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    return BearerTokenApplication(InMemoryStorage(), provider, service=service,
                                  bearer_tokens=[os.environ.get("BENCH_PEER_TOKEN", "bench-peer-token")])
