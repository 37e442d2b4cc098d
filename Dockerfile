# SPDX-License-Identifier: Apache-2.0
#
# mod_items in a container: Debian 12's httpd serving the items API.
#
#   docker build -t mod-items .                          # the server (stage "image")
#   docker build --target lambda -t mod-items:lambda .   # + AWS Lambda Web Adapter
#   docker run --rm -p 8080:8080 -e DYNAMODB_TABLE=items -e AWS_DEFAULT_REGION=us-east-1 \
#       -e AWS_ACCESS_KEY_ID=... -e AWS_SECRET_ACCESS_KEY=... mod-items
#
# The image runs conf/httpd.conf exactly as the end-to-end tests load it; every
# setting comes from the environment (ITEMS_* below, DynamoDB settings from
# DYNAMODB_TABLE, AWS_DEFAULT_REGION, DYNAMODB_ENDPOINT_URL, AWS_* credentials).

# --- build: the same scripts/build that CI runs -------------------------------
FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential autoconf automake libtool pkg-config \
        apache2-dev libcurl4-openssl-dev libjansson-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .dockerignore lets only the sources in: autotools output is generated here.
COPY . .
RUN bash scripts/build

# --- docs: Swagger UI's files (npm swagger-ui-dist), as package-lock.json pins them ----
# Only its served files reach the image (with its licence); no install script runs.
FROM node:20-bookworm-slim AS docs
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts --loglevel=error \
    && test -f node_modules/swagger-ui-dist/swagger-ui-bundle.js

# --- runtime: httpd, the module's shared libraries, nothing to compile with ----
FROM debian:bookworm-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# apache2-bin is httpd with its modules, without Debian's /etc/apache2 site
# machinery (this image has a config of its own). libcurl4, libjansson4 and
# libssl3 are what mod_items.so links; ca-certificates lets libcurl verify
# DynamoDB's TLS certificate; curl serves the HEALTHCHECK.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        apache2-bin libcurl4 libjansson4 libssl3 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 items \
    && useradd --system --uid 10001 --gid items --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin items \
    && install -d -m 0755 /etc/mod_items/conf.d

COPY --from=build /src/build/.libs/mod_items.so /usr/lib/apache2/modules/mod_items.so
COPY conf/httpd.conf /etc/mod_items/httpd.conf
# The OpenAPI document (/openapi.json) and the Swagger UI page (/docs/).
COPY docs/openapi.json /usr/share/mod_items/docs/openapi.json
COPY docs/ui/index.html /usr/share/mod_items/docs/ui/index.html
COPY --from=docs /src/node_modules/swagger-ui-dist/swagger-ui-bundle.js \
    /src/node_modules/swagger-ui-dist/swagger-ui.css \
    /src/node_modules/swagger-ui-dist/favicon-16x16.png \
    /src/node_modules/swagger-ui-dist/favicon-32x32.png \
    /src/node_modules/swagger-ui-dist/LICENSE \
    /src/node_modules/swagger-ui-dist/NOTICE \
    /usr/share/mod_items/swagger-ui/

# conf/httpd.conf reads these; override any of them with `docker run -e`.
# ITEMS_EXTRA_CONF: mount further directives (ItemsTable, LogLevel, ...) as
# /etc/mod_items/conf.d/*.conf. ITEMS_USER/ITEMS_GROUP only matter when the
# container is started as root; they must name an account of this image.
ENV ITEMS_MODULE=/usr/lib/apache2/modules/mod_items.so \
    ITEMS_MODULES_DIR=/usr/lib/apache2/modules \
    ITEMS_LISTEN=0.0.0.0:8080 \
    ITEMS_RUN_DIR=/tmp/mod_items \
    ITEMS_LOG_LEVEL=warn \
    ITEMS_MPM=worker \
    ITEMS_EXTRA_CONF=/etc/mod_items/conf.d/*.conf \
    ITEMS_USER=items \
    ITEMS_GROUP=items \
    ITEMS_DOCS_DIR=/usr/share/mod_items/docs \
    ITEMS_SWAGGER_UI_DIR=/usr/share/mod_items/swagger-ui

USER 10001:10001
EXPOSE 8080
# SIGWINCH is httpd's graceful stop: requests in flight are finished.
STOPSIGNAL SIGWINCH

# The health handler asks DynamoDB for the table (DescribeTable, cached 3 s), so
# "healthy" means "can serve".
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:8080/health" || exit 1

# conf/httpd.conf logs to ${ITEMS_RUN_DIR}/error.log and access.log: at start,
# those names become links to the container's stderr and stdout (Docker, ECS,
# Kubernetes and Lambda hand a process pipes, which httpd can open by name).
# Where stdout/stderr cannot be opened so (a socket, or a pipe of another user)
# the logs stay files in ITEMS_RUN_DIR and a warning says so. It is done at start,
# not at build time, because ITEMS_RUN_DIR may be overridden, because the user
# may be any uid (docker run --user), and because on Lambda /tmp is an empty,
# fresh file system (the only writable one). With --read-only, mount a tmpfs
# on /tmp.
CMD ["/bin/sh", "-ec", "mkdir -p \"$ITEMS_RUN_DIR\" && cd \"$ITEMS_RUN_DIR\" && rm -f httpd.pid && link() { [ -L \"$1\" ] || if { true >>/proc/self/fd/3; } 3>&\"$2\" 2>/dev/null; then ln -sf \"$3\" \"$1\"; else echo \"mod_items: cannot open $3; logging to $ITEMS_RUN_DIR/$1\" >&2; fi; } && link error.log 2 /dev/stderr && link access.log 1 /dev/stdout && exec /usr/sbin/apache2 -DFOREGROUND -f /etc/mod_items/httpd.conf"]

# --- lambda: the same image behind API Gateway, via the Lambda Web Adapter ----
# The adapter is a Lambda extension: inside Lambda it turns invocations into
# HTTP requests to 127.0.0.1:8080; anywhere else it does not run at all.
# Build for the function's architecture, as a plain image manifest (Lambda
# rejects the attestation index buildx adds by default):
#   docker buildx build --platform linux/amd64 --provenance=false --target lambda ...
FROM runtime AS lambda
COPY --from=public.ecr.aws/awsguru/aws-lambda-adapter:0.9.1 /lambda-adapter /opt/extensions/lambda-adapter
# AWS_LWA_REMOVE_BASE_PATH: an API Gateway HTTP API stage other than $default
# puts its name in front of every path (/dev/items/...); the function sets it
# to "/<stage>" (infra/main.tf does) so httpd sees /items/... as here.
# Lambda supplies AWS_REGION/AWS_DEFAULT_REGION and the role's AWS_* credentials.
ENV AWS_LWA_PORT=8080 \
    AWS_LWA_READINESS_CHECK_PATH=/health \
    AWS_LWA_READINESS_CHECK_PROTOCOL=http

# --- image: the default target, so a plain `docker build .` is the server ------
FROM runtime AS image
