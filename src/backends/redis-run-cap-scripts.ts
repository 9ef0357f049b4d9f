/**
 * The Lua scripts behind a run's limit on Redis (`redis-run-cap.ts` says the model):
 * each runs atomically, so a look at the limit and the lease it grants are one step.
 */

/** Redis server time in ms, and how many of the run's jobs run (leased or not). */
const COUNT = `
redis.replicate_commands()
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function running(leases, unleased, now)
  redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
  local n = redis.call('ZCARD', leases)
  local noted = redis.call('HGETALL', unleased)
  for i = 1, #noted, 2 do
    if redis.call('ZSCORE', leases, noted[i]) or redis.call('EXISTS', noted[i + 1]) == 0 then
      redis.call('HDEL', unleased, noted[i])
    else
      n = n + 1
    end
  end
  return n
end
-- KEYS cap, leases, unleased; ARGV lease ms, member, keep ms: 1 when the lease is held now
local function take(k1, k2, k3, a1, a2, a3)
  local now = now_ms()
  redis.call('HDEL', k3, a2)
  local cap = tonumber(redis.call('GET', k1) or '')
  if cap and not redis.call('ZSCORE', k2, a2) and running(k2, k3, now) >= cap then
    return 0
  end
  redis.call('ZADD', k2, now + tonumber(a1), a2)
  redis.call('PEXPIRE', k2, a3)
  return 1
end
`;

/** KEYS paused; ARGV pool ('' for none): is the run, or the job's pool, paused? */
const PAUSED = `
local function pool_paused(k, pool)
  return pool ~= '' and redis.call('SISMEMBER', k, pool) == 1
end
local function paused(k, pool)
  return redis.call('SISMEMBER', k, '*') == 1 or pool_paused(k, pool)
end
`;

/**
 * KEYS: cap, leases, unleased, paused. ARGV: lease ms, member, keep ms, the job's pool
 * ('' for none), then ids of jobs of the run this worker holds and has not checked yet
 * (not running). 1 when the lease is held; 0 while the run is at its limit or paused.
 */
export const ACQUIRE = `${COUNT}${PAUSED}
for i = 5, #ARGV do redis.call('HDEL', KEYS[3], ARGV[i]) end
if paused(KEYS[4], ARGV[4]) then return 0 end
return take(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])`;

/**
 * The last look before a start. KEYS: cancelled, cap, leases, unleased, paused. ARGV:
 * lease ms, member, keep ms, the job's pool ('' for none). -1: the run was cancelled;
 * 0: held back by the limit; 1: may start, holding a lease; 2: may start, the run has
 * no limit (nothing written); 3: held back by a pause of the run; 4: of the job's pool.
 */
export const CHECK = `${COUNT}${PAUSED}
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
if redis.call('SISMEMBER', KEYS[5], '*') == 1 then return 3 end
if pool_paused(KEYS[5], ARGV[4]) then return 4 end
if not redis.call('GET', KEYS[2]) then return 2 end
return take(KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3])`;

/**
 * KEYS: cap, unleased. ARGV: limit, seconds to keep, the run's job id prefix, then each
 * of the run's queues' key prefix: sets the limit and notes the run's active jobs.
 */
export const LIMIT = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
for i = 4, #ARGV do
  for _, id in ipairs(redis.call('LRANGE', ARGV[i] .. 'active', 0, -1)) do
    if string.sub(id, 1, #ARGV[3]) == ARGV[3] then
      redis.call('HSET', KEYS[2], id, ARGV[i] .. id .. ':lock')
    end
  end
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 0`;

/** KEYS: leases. ARGV: lease ms, keep ms, members…: pushes the members' lapse time on. */
export const RENEW = `
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0`;
