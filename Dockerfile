# The dashboard and GraphiQL pages, built once; the API image serves them (nothing is fetched at run time).
FROM node:20-slim AS web
WORKDIR /build/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY schema.graphql /build/schema.graphql
COPY web ./
RUN npm run build

FROM python:3.11-slim
# bubblewrap: the sandbox every app command runs in (a worker refuses to start without it); git: `git push` deploys go
# through `git http-backend`, and workers clone git buildpacks; prlimit comes with util-linux, in the base image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# pipegraph never runs as root: app commands then start from an unprivileged user, inside their own namespaces.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/pipegraph --shell /usr/sbin/nologin pipegraph \
    && mkdir -p /var/lib/pipegraph \
    && chown pipegraph:pipegraph /var/lib/pipegraph
WORKDIR /srv/pipegraph
COPY pyproject.toml README.md ./
COPY src ./src
COPY workers ./workers
RUN pip install --no-cache-dir .
COPY --from=web /build/web/dist ./web/dist
ENV PIPEGRAPH_DATA_DIR=/var/lib/pipegraph \
    PIPEGRAPH_WEB_DIR=/srv/pipegraph/web/dist
USER pipegraph
EXPOSE 8000
ENTRYPOINT ["pipegraph"]
CMD ["serve", "--host", "0.0.0.0"]
