# The engine's image, used by both the `api` and `worker` services (docker-compose.yml picks the command).
# TypeScript runs through tsx, as in development; the worker bundles workflows/ at start.
# No Temporal binaries here: containers talk to the `temporal` service through TEMPORAL_ADDRESS.
FROM node:20-bookworm-slim

ENV NODE_ENV=production
# Two glibc malloc arenas instead of one per thread: ~200 MiB less RSS for a busy worker (BENCHMARKS.md, d).
ENV MALLOC_ARENA_MAX=2
WORKDIR /app

COPY package.json package-lock.json ./
# --ignore-scripts: the postinstall builds the embedded dev server's CLI, which production never starts.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY scripts ./scripts

RUN mkdir -p /app/.data && chown node:node /app/.data
USER node

ENV API_HOST=0.0.0.0 API_PORT=3000
EXPOSE 3000
CMD ["npm", "run", "api"]
