"""Outbound webhooks: a tenant's notifications POSTed as they are raised, acknowledged and resolved,
signed with HMAC-SHA256, from a worker thread after the commit (never inside the ingestion transaction)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import queue
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3

from shared.errors import Problem

from .models import Webhook

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Signature"
EVENT_HEADER = "X-Notification-Event"
QUEUE_LIMIT = 1_000


def sign(secret: str, body: bytes) -> str:
    """The X-Signature value: 'sha256=' and the hex HMAC-SHA256 of the exact body with the tenant's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature)


def set_webhook(tenant: str, url: str, secret: str | None, now: dt.datetime) -> tuple[Webhook, str]:
    """Create or replace the tenant's webhook; returns it with its secret (generated when not given)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Problem(400, "The webhook URL must be an absolute http:// or https:// URL.", code="invalid_value")
    secret = secret or "whs_" + secrets.token_urlsafe(32)
    Webhook.insert(tenant=tenant, url=url, secret=secret, created_at=now).on_conflict(
        conflict_target=[Webhook.tenant], update={Webhook.url: url, Webhook.secret: secret, Webhook.created_at: now}
    ).execute()
    return Webhook.get_by_id(tenant), secret


def get_webhook(tenant: str) -> Webhook:
    row = Webhook.get_or_none(Webhook.tenant == tenant)
    if row is None:
        raise Problem(404, f"Tenant '{tenant}' has no webhook.", code="not_found")
    return row


def delete_webhook(tenant: str) -> None:
    if not Webhook.delete().where(Webhook.tenant == tenant).execute():
        raise Problem(404, f"Tenant '{tenant}' has no webhook.", code="not_found")


@dataclass(frozen=True)
class Delivery:
    url: str
    secret: str
    event: str
    body: bytes


class WebhookSender:
    """One daemon thread per worker sending queued deliveries; bounded attempts with backoff, a bounded
    queue (a flood drops deliveries with a log line rather than using up memory)."""

    def __init__(self, timeout: float = 5.0, attempts: int = 3, backoff: float = 0.5) -> None:
        self.timeout = urllib3.Timeout(connect=min(timeout, 2.0), read=timeout)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._queue: queue.Queue[Delivery | None] = queue.Queue(QUEUE_LIMIT)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._http: urllib3.PoolManager | None = None

    def enqueue(self, tenant: str, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Queue one delivery per event if the tenant has a webhook; call after the commit."""
        if not events:
            return
        hook = Webhook.get_or_none(Webhook.tenant == tenant)
        if hook is None:
            return
        self._start()
        for event, notification in events:
            payload = {"event": event, "tenant": tenant, "notification": notification}
            body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
            try:
                self._queue.put_nowait(Delivery(hook.url, hook.secret, event, body))
            except queue.Full:
                log.warning("webhook queue full: a %s event of tenant %s was not sent", event, tenant)

    def join(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery was attempted (tests); True when the queue drained."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(5)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._http = urllib3.PoolManager(num_pools=8, maxsize=2)
                self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                if delivery is None:
                    return
                self._deliver(delivery)
            except Exception:
                log.exception("webhook delivery failed")
            finally:
                self._queue.task_done()

    def _deliver(self, delivery: Delivery) -> bool:
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(delivery.secret, delivery.body),
                   EVENT_HEADER: delivery.event, "User-Agent": "scim-target-notifications"}
        assert self._http is not None
        for attempt in range(self.attempts):
            try:
                resp = self._http.request("POST", delivery.url, body=delivery.body, headers=headers,
                                          timeout=self.timeout, retries=False, redirect=False)
                if 200 <= resp.status < 300:
                    return True
                outcome = f"status {resp.status}"
            except urllib3.exceptions.HTTPError as exc:
                outcome = type(exc).__name__
            log.warning("webhook %s attempt %d/%d failed: %s", urlsplit(delivery.url).netloc, attempt + 1,
                        self.attempts, outcome)
            if attempt + 1 < self.attempts:
                time.sleep(self.backoff * 2**attempt)
        return False
