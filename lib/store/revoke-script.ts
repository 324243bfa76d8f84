/**
 * The revocation list's one write (RevocationList.revoke), as a script so that it is atomic: the
 * replay record, the marks, the per-session marks and the ended-sessions feed entries are written
 * together or not at all. A subject mark only moves forward in time, so an old signal replayed or
 * delivered late cannot shorten a newer one.
 *
 * KEYS[1]       replay record, or "" for none
 * KEYS[2]       the ended-sessions feed (a sorted set)
 * KEYS[3..2+n]  target marks (n = ARGV[5])
 * KEYS[3+n..]   per-session marks
 * ARGV[1] replay TTL (s)  ARGV[2] mark TTL (s)  ARGV[3] reason  ARGV[4] now (ms)  ARGV[5] n
 * ARGV[6] feed retention (ms)
 * ARGV[7..6+n]  per target: "" for an IdP session mark, else the subject mark's before-time (ms)
 * ARGV[7+n..]   per session: its feed entry (JSON)
 */
export const REVOKE_SCRIPT = `
if KEYS[1] ~= '' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local n = tonumber(ARGV[5])
for i = 1, n do
  local key, before = KEYS[2 + i], ARGV[6 + i]
  if before == '' then
    redis.call('SET', key, ARGV[3], 'EX', ARGV[2])
  else
    local current = redis.call('GET', key)
    local previous = current and tonumber(string.match(current, '^(%d+)|')) or nil
    if not previous or previous < tonumber(before) then
      redis.call('SET', key, before .. '|' .. ARGV[3], 'EX', ARGV[2])
    end
  end
end
local sessions = #KEYS - 2 - n
for i = 1, sessions do
  redis.call('SET', KEYS[2 + n + i], ARGV[3], 'EX', ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[6 + n + i])
end
if sessions > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], 0, tonumber(ARGV[4]) - tonumber(ARGV[6]))
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[6]) * 2)
end
return 1
`;

/** Deletes a key only if it holds the given value: a lock released by its owner, a one-time state used. */
export const DELETE_IF_EQUAL_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
