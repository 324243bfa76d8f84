/**
 * The revocation list's writes (RevocationList.revoke), as scripts. Each script touches one hash
 * slot, so that it runs on a Redis Cluster too (lib/store/keys.ts): the marks of one user are one
 * atomic step (MARK_SCRIPT, once per user slot), the ended-sessions feed another (FEED_SCRIPT, the
 * feed being one key for every user). The replay record is a plain SET NX, written after both.
 */

/**
 * Writes marks in one slot. A subject mark only moves forward in time, so an old signal replayed or
 * delivered late cannot shorten a newer one; every other mark is a plain SET.
 *
 * KEYS[1..n]    the marks
 * ARGV[1] mark TTL (s)  ARGV[2] reason
 * ARGV[2+i]     per mark: "" for a plain mark (its value: the reason), else the subject mark's before-time (ms)
 */
export const MARK_SCRIPT = `
for i = 1, #KEYS do
  local key, before = KEYS[i], ARGV[2 + i]
  if before == '' then
    redis.call('SET', key, ARGV[2], 'EX', ARGV[1])
  else
    local current = redis.call('GET', key)
    local previous = current and tonumber(string.match(current, '^(%d+)|')) or nil
    if not previous or previous < tonumber(before) then
      redis.call('SET', key, before .. '|' .. ARGV[2], 'EX', ARGV[1])
    end
  end
end
return #KEYS
`;

/**
 * Adds entries to the ended-sessions feed (a sorted set by time) and drops those older than the
 * retention; the feed expires when nothing is added for twice that.
 *
 * KEYS[1] the feed
 * ARGV[1] now (ms)  ARGV[2] retention (ms)  ARGV[3..] the entries (JSON)
 */
export const FEED_SCRIPT = `
for i = 3, #ARGV do
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, tonumber(ARGV[1]) - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return #ARGV - 2
`;

/** Deletes a key only if it holds the given value: a lock released by its owner, a one-time state used. */
export const DELETE_IF_EQUAL_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
