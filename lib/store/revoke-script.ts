/**
 * The revocation list's writes (RevocationList.revoke), as scripts.
 * - On one Redis server (or Upstash), REVOKE_SCRIPT: the whole revocation in one call: replay check, the BCL §2.7 subject check, feed entries, IdP-session ended marks, every
 *   mark, replay record.
 * - On a Redis Cluster each script touches one hash slot (lib/store/keys.ts): the marks of one user
 *   are one atomic step (MARK_SCRIPT, once per user slot), the ended-sessions feed another
 *   (FEED_SCRIPT, the feed being one key for every user), and the replay record a plain SET NX,
 *   written after both (lib/store/revoke.ts, revokeBySlot).
 * Both write the same keys with the same values: the Lua functions below are shared by the scripts.
 */

/**
 * One mark. A subject mark (`before` given) only moves forward in time, so an old signal replayed or
 * delivered late cannot shorten a newer one; every other mark is a plain SET of the reason.
 */
const MARK_FUNCTION = `
local function mark(key, before, ttl, reason)
  if before == '' then
    redis.call('SET', key, reason, 'EX', ttl)
  else
    local current = redis.call('GET', key)
    local previous = current and tonumber(string.match(current, '^(%d+)|')) or nil
    if not previous or previous < tonumber(before) then
      redis.call('SET', key, before .. '|' .. reason, 'EX', ttl)
    end
  end
end
`;

/** Feed entries (a sorted set by time); entries older than the retention go, the feed expires after twice that. */
const FEED_FUNCTION = `
local function feed(key, now, retention, entries, first, last)
  for i = first, last do
    redis.call('ZADD', key, now, entries[i])
  end
  redis.call('ZREMRANGEBYSCORE', key, 0, tonumber(now) - tonumber(retention))
  redis.call('PEXPIRE', key, tonumber(retention) * 2)
end
`;

/**
 * Writes marks in one slot.
 *
 * KEYS[1..n]    the marks
 * ARGV[1] mark TTL (s)  ARGV[2] reason
 * ARGV[2+i]     per mark: "" for a plain mark, else the subject mark's before-time (ms)
 */
export const MARK_SCRIPT = `${MARK_FUNCTION}
for i = 1, #KEYS do
  mark(KEYS[i], ARGV[2 + i], ARGV[1], ARGV[2])
end
return #KEYS
`;

/**
 * Adds entries to the ended-sessions feed.
 *
 * KEYS[1] the feed
 * ARGV[1] now (ms)  ARGV[2] retention (ms)  ARGV[3..] the entries (JSON)
 */
export const FEED_SCRIPT = `${FEED_FUNCTION}
feed(KEYS[1], ARGV[1], ARGV[2], ARGV, 3, #ARGV)
return #ARGV - 2
`;

/**
 * A whole revocation on one Redis server, atomically: nothing else runs between its steps, so their
 * order matters only for what is written when Redis fails part way (a script is not rolled back);
 * it keeps revokeBySlot's order: feed, IdP-session steps, marks, and the replay record last.
 *
 * Every key it touches is in KEYS (the Redis and Upstash scripting rules). For an IdP-session
 * target, the mark goes into the slot of the user holding the sid, which only Redis knows for sure
 * (`idpSessionUser`): the caller passes the mark key of the user it expects (the holder of the
 * session it found), and the script compares. When another user holds the sid, or one holds it and
 * none was expected (a sign-in racing this revocation), the script does not write the replay record
 * and returns the tags it found, so that the caller writes those marks (MARK_SCRIPT) and then the
 * replay record: a session holding the sid never escapes its mark.
 *
 * BCL §2.7: before it writes anything, the script checks that each session the caller names is in
 * its subject's set of sessions; if one is not, it writes only the replay record (a replay of the
 * signal then changes nothing either) and returns {3}.
 *
 * KEYS[1] the feed  KEYS[2] the replay record, when ARGV[5] is not ""
 * then per check: the subject's set of sessions; then per IdP-session target: its ended mark, its
 * holder, and (when ARGV names an expected tag) that user's IdP-session mark and the record of the
 * session the caller found holding it (`heldBy`), which the script reads; then the other marks
 * ARGV[1] now (ms)  ARGV[2] feed retention (ms)  ARGV[3] mark TTL (s)  ARGV[4] reason
 * ARGV[5] replay record TTL (s), or ""  ARGV[6] the number of IdP-session targets (t)
 * ARGV[7] the number of feed entries (e)  ARGV[8] the number of checks (c)
 * ARGV[9 .. 8+c] per check: the session id that must be in that set
 * then per target: the expected holder's tag, or ""; then the e feed entries (JSON); then per
 * other mark: "" or the subject mark's before-time (ms)
 *
 * Returns {0} when the replay record was there (nothing written), {3} when a check failed (only
 * the replay record written), {1, r_1, …, r_t} when all is written, or {2, r_1, …, r_t, i, tag, …}
 * when the marks of those holders (target i, 1-based) and the replay record are left to the
 * caller; r_i is target i's `heldBy` record as the script read it, "" when none was named or it is gone.
 */
export const REVOKE_SCRIPT = `${MARK_FUNCTION}${FEED_FUNCTION}
local ttl, reason = ARGV[3], ARGV[4]
local targets, entries, checks = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local key = 2
if ARGV[5] ~= '' then
  if redis.call('EXISTS', KEYS[2]) == 1 then return {0} end
  key = 3
end
for i = 1, checks do
  if redis.call('SISMEMBER', KEYS[key], ARGV[8 + i]) == 0 then
    if ARGV[5] ~= '' then redis.call('SET', KEYS[2], '1', 'EX', ARGV[5]) end
    return {3}
  end
  key = key + 1
end
local arg = 8 + checks
if entries > 0 then feed(KEYS[1], ARGV[1], ARGV[2], ARGV, arg + targets + 1, arg + targets + entries) end
local left, records = {}, {}
for i = 1, targets do
  local expected = ARGV[arg + i]
  redis.call('SET', KEYS[key], reason, 'EX', ttl)
  local holder = redis.call('GET', KEYS[key + 1])
  key = key + 2
  records[i] = ''
  if expected ~= '' then
    redis.call('SET', KEYS[key], reason, 'EX', ttl)
    records[i] = redis.call('GET', KEYS[key + 1]) or ''
    key = key + 2
  end
  if holder and holder ~= expected then
    left[#left + 1] = i
    left[#left + 1] = holder
  end
end
arg = arg + targets + entries + 1
for i = key, #KEYS do
  mark(KEYS[i], ARGV[arg], ttl, reason)
  arg = arg + 1
end
for i = 1, #left do records[targets + i] = left[i] end
-- A table constructor, not a table filled in place: ioredis-mock (the gateway's embedded store)
-- reads only such a table as an array reply.
if #left > 0 then return {2, unpack(records)} end
if ARGV[5] ~= '' then redis.call('SET', KEYS[2], '1', 'EX', ARGV[5]) end
return {1, unpack(records)}
`;

/** Deletes a key only if it holds the given value: a lock released by its owner, a one-time state used. */
export const DELETE_IF_EQUAL_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
