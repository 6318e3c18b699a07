# syntax=docker/dockerfile:1

# Node 22 LTS, not 24: on Node 24 better-sqlite3 12 aborts the process when the garbage collector
# finalizes a prepared statement (`Assertion failed: (env) != nullptr` in
# node::RemoveEnvironmentCleanupHook, from Statement::~Statement). In the benchmark 17 of 24 gateway
# starts on Node 24.21 died that way within seconds of load; none of 12 on Node 22.23 (BENCHMARKS.md).

# Debian (glibc), not Alpine (musl): the image runs the same C library as the process the benchmark
# measures, and the malloc settings below apply to it (BENCHMARKS.md, fix 34).

# Build stage: type-check, bundle the daemon into dist/main.js (scripts/build.mjs), then drop dev
# dependencies.
FROM node:22-bookworm-slim AS build
WORKDIR /app
# Toolchain for better-sqlite3, built from source when no prebuilt binary can be downloaded.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/build.mjs
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: only the compiled code and production dependencies, run as the unprivileged `node` user.
FROM node:22-bookworm-slim AS runtime
# GLIBC_TUNABLES: glibc's malloc keeps its initial thresholds (128 KiB) instead of raising them
# after the first large block is freed, so freed memory goes back to the system: 10-15 MiB less
# resident memory under load, at the same throughput (BENCHMARKS.md, fix 34).
ENV NODE_ENV=production \
    GATEWAY_HOST=0.0.0.0 \
    PORT=8080 \
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /app/state && chown node:node /app/state
USER node
VOLUME ["/app/state"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
