# xmodal serve in a container: the HTTP API, /v1/embeddings and the web UI on port 7700.
#   docker build -t xmodal .
#   docker run -p 7700:7700 -v xmodal-data:/data [-e XMODAL_API_KEY=...] xmodal
# The shipped models/ folder (xmodal-mini) is baked into the image; the container never downloads a model.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Toolchain for native addons whose prebuilt binary does not match (better-sqlite3, usearch).
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# `npm ci` runs the `prepare` script (tsc → dist/); then development packages are dropped.
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    XMODAL_HOME=/data \
    XMODAL_OFFLINE=1
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The UI is served from src/ui at the package root (see src/server/routes/ui.ts).
COPY src/ui ./src/ui
COPY models ./models
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 7700
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7700/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "7700"]
