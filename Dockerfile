# One image for every service of docker-compose.yml (server, netem, client, dashboard): the built testbed on
# Node 20. Services run `node dist/cli/main.js <subcommand> ...` from /app; ./captures is mounted at /app/captures.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles its native addon when no prebuilt binary fits the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# /export: the NFS export (a named volume in docker-compose.yml); /app/captures: capture, journal, results.
RUN mkdir -p /export /app/captures
CMD ["node", "dist/cli/main.js", "--help"]
