import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The cluster's shared run bookkeeping, in Redis, each step one Lua script so that every
 * node sees it atomically:
 * - `run:<id>` (hash: owner, ws, state = waiting | queued | running, node): a run from
 *   submit until it settles;
 * - `wsq:<workspace>` (list): the workspace's runs in order; only the head is on the BullMQ
 *   queue or running, the others wait behind it (`waiting`), so one run per workspace;
 * - `wslock:<workspace>`: the executing run's lock on its workspace, with the lease;
 * - `leases` (zset run → expiry ms): running runs; renewed by their node's heartbeat, an
 *   expired one is a lost node's run (`node_lost`);
 * - `promote` (zset run → ms): runs to put on the BullMQ queue, removed once they are
 *   there, so a node dying between the two steps loses no run;
 * - `nodes` (zset node → alive-until ms) and `node-capacity` (hash): the cluster's slots;
 * - `counts` (active, running, chained) and `owner-active` / `owner-running` (hashes): the
 *   queue limits and each owner's share, as the embedded scheduler keeps them.
 * Times come from the Redis server's clock, so nodes' clocks need not agree.
 */

const PRELUDE = `
local P = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(v) return tonumber(v or '0') or 0 end
local function hincr(key, field, by)
  local v = redis.call('HINCRBY', key, field, by)
  if v <= 0 then redis.call('HDEL', key, field) end
  return v
end
-- Drops a run from the bookkeeping; returns the next run of its workspace, now to be queued, and its priority.
local function forget(id)
  local runKey = P .. 'run:' .. id
  local f = redis.call('HMGET', runKey, 'owner', 'ws', 'state')
  local owner, ws, state = f[1], f[2], f[3]
  if not owner then return {} end
  hincr(P .. 'counts', 'active', -1)
  hincr(P .. 'owner-active', owner, -1)
  if state == 'running' then
    hincr(P .. 'counts', 'running', -1)
    hincr(P .. 'owner-running', owner, -1)
  elseif state == 'waiting' then
    hincr(P .. 'counts', 'chained', -1)
  end
  local wsq = P .. 'wsq:' .. ws
  local head = redis.call('LINDEX', wsq, 0)
  redis.call('LREM', wsq, 1, id)
  local lock = P .. 'wslock:' .. ws
  if redis.call('GET', lock) == id then redis.call('DEL', lock) end
  redis.call('ZREM', P .. 'leases', id)
  redis.call('ZREM', P .. 'promote', id)
  redis.call('DEL', runKey)
  if head == id then
    local nxt = redis.call('LINDEX', wsq, 0)
    if nxt then
      local nk = P .. 'run:' .. nxt
      redis.call('HSET', nk, 'state', 'queued')
      hincr(P .. 'counts', 'chained', -1)
      local prio = num(redis.call('HGET', P .. 'owner-active', redis.call('HGET', nk, 'owner')))
      redis.call('ZADD', P .. 'promote', now_ms(), nxt)
      return {nxt, math.max(prio, 1)}
    end
  end
  return {}
end
`;

/** ARGV: P, id, owner, ws, onBusy, maxQueued, maxPerOwner, isRecovery(0|1) */
const RESERVE = `${PRELUDE}
local id, owner, ws, onBusy = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local maxQueued, maxOwner, isRecovery = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8] == '1'
local runKey = P .. 'run:' .. id
if redis.call('EXISTS', runKey) == 1 then return {'exists'} end
local wsq = P .. 'wsq:' .. ws
local isWsBusy = redis.call('LLEN', wsq) > 0
local now = now_ms()
if not isRecovery then
  if isWsBusy and onBusy == 'conflict' then return {'conflict'} end
  local capacity = 0
  for _, n in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', now, '+inf')) do
    capacity = capacity + num(redis.call('HGET', P .. 'node-capacity', n))
  end
  local active = num(redis.call('HGET', P .. 'counts', 'active'))
  local chained = num(redis.call('HGET', P .. 'counts', 'chained'))
  -- Runs beyond the cluster's slots wait, and so does every run queued behind a busy workspace.
  local canStartNow = (not isWsBusy) and (active - chained) < capacity
  if not canStartNow then
    local waiting = math.max(0, active - chained - capacity) + chained
    if waiting >= maxQueued then return {'queue_full', waiting, capacity} end
    local ownerWaiting = num(redis.call('HGET', P .. 'owner-active', owner)) - num(redis.call('HGET', P .. 'owner-running', owner))
    if ownerWaiting >= maxOwner then return {'owner_full', waiting, capacity} end
  end
end
-- Fair by owner: an owner's n-th outstanding run gets priority n, so another owner's first
-- run goes ahead of this owner's second (BullMQ: lower runs first, FIFO among equals).
local prio = num(redis.call('HGET', P .. 'owner-active', owner)) + 1
redis.call('RPUSH', wsq, id)
local state = 'queued'
if isWsBusy then state = 'waiting' end
redis.call('HSET', runKey, 'owner', owner, 'ws', ws, 'state', state)
hincr(P .. 'counts', 'active', 1)
hincr(P .. 'owner-active', owner, 1)
if isWsBusy then
  hincr(P .. 'counts', 'chained', 1)
else
  redis.call('ZADD', P .. 'promote', now, id)
end
return {'ok', state, prio}
`;

/**
 * ARGV: P, id, announce(0|1) — drops a run (settled, or reserved and never stored); with
 * announce, tells every node's waiters it settled (its record is already stored).
 */
const FORGET = `${PRELUDE}
local r = forget(ARGV[2])
if ARGV[3] == '1' then redis.call('PUBLISH', P .. 'finished', ARGV[2]) end
return r
`;

/** ARGV: P, id, node, leaseMs — a worker took the run's job: it starts here unless it is gone. */
const START = `${PRELUDE}
local id, node, lease = ARGV[2], ARGV[3], tonumber(ARGV[4])
local runKey = P .. 'run:' .. id
local f = redis.call('HMGET', runKey, 'owner', 'ws', 'state')
if f[3] ~= 'queued' then return {'gone'} end
local lock = P .. 'wslock:' .. f[2]
local holder = redis.call('GET', lock)
if holder and holder ~= id then return {'ws_locked'} end
local now = now_ms()
redis.call('SET', lock, id, 'PX', lease)
redis.call('HSET', runKey, 'state', 'running', 'node', node)
hincr(P .. 'counts', 'running', 1)
hincr(P .. 'owner-running', f[1], 1)
redis.call('ZADD', P .. 'leases', now + lease, id)
redis.call('ZREM', P .. 'promote', id)
return {'ok'}
`;

/** ARGV: P, id — a waiting run is dropped at once; a running one is told to stop (pub/sub). */
const CANCEL = `${PRELUDE}
local id = ARGV[2]
local runKey = P .. 'run:' .. id
local f = redis.call('HMGET', runKey, 'state', 'node')
if not f[1] then return {'unknown'} end
if f[1] == 'running' then
  redis.call('HSET', runKey, 'cancel', '1')
  redis.call('PUBLISH', P .. 'cancel', id)
  return {'running', f[2]}
end
local r = forget(id)
return {'settled', r[1], r[2]}
`;

/** ARGV: P, node, capacity, leaseMs, ids… — renews the node and its runs' leases; returns the ids no longer leased to it. */
const HEARTBEAT = `${PRELUDE}
local node, capacity, lease = ARGV[2], ARGV[3], tonumber(ARGV[4])
local now = now_ms()
redis.call('ZADD', P .. 'nodes', now + lease, node)
redis.call('HSET', P .. 'node-capacity', node, capacity)
local lost = {}
for i = 5, #ARGV do
  local id = ARGV[i]
  local runKey = P .. 'run:' .. id
  if redis.call('ZSCORE', P .. 'leases', id) and redis.call('HGET', runKey, 'node') == node then
    redis.call('ZADD', P .. 'leases', 'XX', now + lease, id)
    local lock = P .. 'wslock:' .. redis.call('HGET', runKey, 'ws')
    if redis.call('GET', lock) == id then redis.call('PEXPIRE', lock, lease) end
  else
    table.insert(lost, id)
  end
end
return lost
`;

/**
 * ARGV: P, limit, staleMs — claims runs whose lease expired (each claimed by one node only)
 * as flat [id, node, nextId, nextPriority]…; then the stale promotions, as [id, priority]….
 */
const SWEEP = `${PRELUDE}
local limit, staleMs = tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local lost = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', now, 'LIMIT', 0, limit)) do
  local node = redis.call('HGET', P .. 'run:' .. id, 'node') or ''
  local r = forget(id)
  table.insert(lost, id)
  table.insert(lost, node)
  table.insert(lost, r[1] or '')
  table.insert(lost, tostring(r[2] or 0))
end
local stale = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'promote', '-inf', now - staleMs, 'LIMIT', 0, limit)) do
  local owner = redis.call('HGET', P .. 'run:' .. id, 'owner')
  if owner then
    table.insert(stale, id)
    table.insert(stale, tostring(math.max(1, num(redis.call('HGET', P .. 'owner-active', owner)))))
    redis.call('ZADD', P .. 'promote', now, id)
  else
    redis.call('ZREM', P .. 'promote', id)
  end
end
for _, n in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', now)) do
  redis.call('ZREM', P .. 'nodes', n)
  redis.call('HDEL', P .. 'node-capacity', n)
end
return {lost, stale}
`;

/** ARGV: P — the cluster's counts: active, running, waiting-behind-a-workspace, and its slots. */
const COUNTS = `${PRELUDE}
local now = now_ms()
local capacity = 0
for _, n in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', now, '+inf')) do
  capacity = capacity + num(redis.call('HGET', P .. 'node-capacity', n))
end
local c = redis.call('HMGET', P .. 'counts', 'active', 'running', 'chained')
return {num(c[1]), num(c[2]), num(c[3]), capacity}
`;

/** A run to put on the BullMQ queue. */
class Script {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
  async run(redis: Redis, args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, 0, ...args);
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
      return redis.eval(this.lua, 0, ...args);
    }
  }
}

/** The coordinator's steps, each one atomic Lua script. */
export const scripts = {
  reserve: new Script(RESERVE),
  forget: new Script(FORGET),
  start: new Script(START),
  cancel: new Script(CANCEL),
  heartbeat: new Script(HEARTBEAT),
  sweep: new Script(SWEEP),
  counts: new Script(COUNTS),
};
