# One image for all four services; compose.yaml picks the service with CMD.
# Build context is the repository root, so shared/ is in it: `docker compose build`.

# --- build: install shared and the four services (non-editable) into a venv -----------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# Only the packages are copied: var/ (local secrets), .venv and the tests never reach the image.
COPY shared ./shared
COPY services ./services
# flit_core packs every file in a package folder (templates/, static/, JSON), so a wheel install
# carries what an editable install sees. ./shared on the same line satisfies scimtarget-shared.
RUN /opt/venv/bin/pip install \
        ./shared \
        ./services/token-service \
        ./services/directory \
        ./services/notifications \
        ./services/scim-api

# --- runtime -------------------------------------------------------------------------------------
FROM python:3.11-slim
# The token signing key is bind-mounted from the host with its owner and mode (0600 from `make run`);
# build with APP_UID=$(id -u) when your uid is not 1000 so that the service can read it.
ARG APP_UID=1000
COPY --from=build /opt/venv /opt/venv
RUN useradd --uid "${APP_UID}" --user-group --no-create-home --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app/var && chown app:app /app/var
COPY gunicorn.conf.py /app/gunicorn.conf.py
# Worker heartbeats go to tmpfs: on an overlay /tmp they can stall and get workers killed.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GUNICORN_CMD_ARGS="--worker-tmp-dir /dev/shm"
WORKDIR /app
USER app
EXPOSE 8000 8001 8002 8003
# compose.yaml sets BIND and the command of each service; this default runs the SCIM API.
CMD ["gunicorn", "-c", "/app/gunicorn.conf.py", "scim_api:create_app()"]
