# The engine's image, used by both the `api` and `worker` services (docker-compose.yml picks the command).
# Two stages. `build` installs every dependency and runs `npm run build:prod`: tsc into dist/, the SQL migrations
# copied beside the compiled store, the compiled workflows bundled into dist/workflow-bundle.js (the worker checks its
# hash against dist/'s workflow code at start). The runtime stage holds production dependencies and dist/ only and runs
# compiled JavaScript: `node dist/src/server.js` (the default) or `node dist/src/worker.js`.
# No Temporal binaries here: containers talk to the cluster through TEMPORAL_ADDRESS.
# Node 24 LTS; CI runs the whole suite on it and on Node 20 (the minimum, >= 20.18.1): NODE_IMAGE=node:20-bookworm-slim
# builds the same image on Node 20.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the postinstall builds the embedded dev server's CLI, which the image never starts.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-prod.mjs ./scripts/
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
RUN npm run build:prod

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# Two glibc malloc arenas instead of one per thread: ~200 MiB less RSS for a busy worker (BENCHMARKS.md, d).
ENV MALLOC_ARENA_MAX=2
# A 512 MiB V8 heap: 10,000 open bookings peaked at 722 MiB RSS instead of 1036 (BENCHMARKS.md, change 12).
# Setting NODE_OPTIONS on a container replaces this: keep a --max-old-space-size in it.
ENV NODE_OPTIONS=--max-old-space-size=512
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# The same package-lock.json as the build stage's: the worker's bundle check hashes it with dist/'s workflow code.
COPY --from=build /app/dist ./dist

RUN mkdir -p /app/.data && chown node:node /app/.data
USER node

ENV API_HOST=0.0.0.0 API_PORT=3000
EXPOSE 3000
CMD ["node", "dist/src/server.js"]
