# agentgate: the server, Claude Code (via the Agent SDK), bubblewrap and Chromium on Debian 12.
#   docker build -t agentgate .
#   docker compose up -d            (compose.yaml carries the security options the sandbox needs)
# See README "Deploy" for why each option is there.

# Build stage: the full image has python3, make and g++ in case better-sqlite3 must compile.
FROM node:20-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
# The same package list CI installs (.ci/run), from the same script.
COPY scripts/install-system-packages.sh /usr/local/sbin/install-system-packages.sh
RUN /usr/local/sbin/install-system-packages.sh && rm -rf /var/lib/apt/lists/*

# A dedicated, unprivileged user owns DATA_DIR and nothing else; the code stays root-owned
# and read-only to it (and to the agents, which see the machine read-only anyway).
RUN groupadd --system --gid 10001 agentgate \
 && useradd --system --uid 10001 --gid agentgate --home-dir /home/agentgate --create-home \
      --shell /usr/sbin/nologin agentgate \
 && mkdir -p /data && chown agentgate:agentgate /data && chmod 700 /data

WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src

# Exposed inside the container (publish the port on the host's loopback, see compose.yaml).
# AGENT_SANDBOX=bwrap: refuse to start rather than run agents unconfined when the container
# lacks what bubblewrap needs; set AGENT_SANDBOX=none only if you accept that.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data \
    AGENT_SANDBOX=bwrap \
    CHROMIUM_PATH=/usr/bin/chromium
VOLUME ["/data"]
EXPOSE 8080
USER agentgate

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# tini as PID 1: forwards SIGTERM (drain) and SIGHUP (re-read .env) and reaps orphans.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/agentgate.js"]
CMD ["serve"]
