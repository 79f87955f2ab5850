"""gunicorn settings shared by every service: gthread workers with keep-alive, bind from the environment."""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# gthread keeps internal connections alive; the sync worker closes each one (3x slower hops).
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = 30
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
accesslog = os.environ.get("ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# The service names its processes and its access lines.
proc_name = os.environ.get("SERVICE_NAME", "service")
# One JSON line per request (shared.access_log: the same fields as a %-format, for a fraction of its CPU).
logger_class = "shared.access_log.AccessLogger"
