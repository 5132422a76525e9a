// The Lua side of the Redis feature store: the learning half of FeatureState (the live listens of
// src/listens/live.ts and every family's `observe`), run inside Redis so that each event's updates are
// applied atomically, whichever replica sent it. Reads come back raw; the vector is computed in TypeScript
// by the same functions as in-process (src/features/vector.ts).
//
// Keys under the store's prefix P (ids and slots as decimal strings, doubles as %.17g, NaN = field absent):
//   P.."meta"                  schema, catalogue fingerprint, options (JSON), origin, loadedAt
//   P.."g"                     global tally n s l hc hs; clock; seq (next listen opening); obs (listens
//                              observed); taste: tcp tcs (played / skipped counts), gtp gtq (their sums:
//                              K numbers, comma-separated)
//   P.."u:"..user              slot, last (latest listen start), pr (latest premium status; absent = none
//                              seen), cp (users.jsonl's flag), tally n s l hc hs, st0n st0s st1n st1s (by
//                              premium status), taste pc sc (counts) tp tq (sums, as gtp gtq)
//   P.."t:"..track, P.."a:"..artist            tally n s l hc hs
//   P.."ua:"..user..":"..artist, P.."ug:"..user..":"..genre   n s
//   P.."ut:"..user..":"..track                n s l
//   P.."ss:"..session          the session family: st n s ls lf
//   P.."ls:"..session          the live listens: st (first event) n (plays) o (open) ou ot os ol oq (the
//                              open listen: user, track, start, liked, opening seq) and od oa og ox (its
//                              track's duration, artist, genres, standardised audio vector)
//   P.."dl"                    sorted set of open listens' deadlines (start + duration), members
//                              "<seq, 16 digits>:<session>" so that ties finish in opening order
//   P.."users", P.."ua", P.."ug", P.."ut", P.."ss", P.."ls"   creation order (the snapshot's slots)
import { fnv1a32 } from "../base/hash.ts";
import { EventCode } from "../data/types.ts";
import { TASTE_DIMENSIONS } from "./schema.ts";

const BODY = `
local P, G
local K = ${TASTE_DIMENSIONS}
local PLAY, SKIP, LIKE, BUY = ${EventCode.play}, ${EventCode.skip}, ${EventCode.like}, ${EventCode.buy_premium}

local function fmt(x) return string.format('%.17g', x) end
local function num(v) if v == false or v == nil or v == '' then return nil end return tonumber(v) end
local function n0(v) return num(v) or 0 end
local function split(s)
  local out = {}
  if s == false or s == nil or s == '' then return out end
  for part in string.gmatch(s, '[^,]+') do out[#out + 1] = part end
  return out
end

local function heard_fraction(heard, duration)
  if duration == nil or not (duration > 0) or heard == nil or heard ~= heard
    or heard == math.huge or heard == -math.huge then return nil end
  if heard <= 0 then return 0 end
  if heard >= duration then return 1 end
  return heard / duration
end

-- Adds one listen to the tally under field prefix pre of key; true when the tally was created by it.
local function tally(key, pre, skipped, liked, fraction, likes, heard)
  local created = redis.call('HINCRBY', key, pre .. 'n', 1) == 1
  if skipped == 1 then redis.call('HINCRBY', key, pre .. 's', 1) end
  if likes and liked == 1 then redis.call('HINCRBY', key, pre .. 'l', 1) end
  if heard and fraction ~= nil then
    redis.call('HINCRBY', key, pre .. 'hc', 1)
    redis.call('HSET', key, pre .. 'hs', fmt(n0(redis.call('HGET', key, pre .. 'hs')) + fraction))
  end
  return created
end

local function pair(table, user, other, skipped, liked, likes)
  local member = user .. ':' .. other
  if tally(P .. table .. ':' .. member, '', skipped, liked, nil, likes, false) then
    redis.call('RPUSH', P .. table, member)
  end
end

local function intern(user)
  local key = P .. 'u:' .. user
  if redis.call('HEXISTS', key, 'slot') == 0 then
    redis.call('HSET', key, 'slot', redis.call('RPUSH', P .. 'users', user) - 1)
  end
  return key
end

-- The user's premium status now: the latest observed, else users.jsonl's; -1 unknown.
local function premium_of(key)
  local v = redis.call('HMGET', key, 'pr', 'cp')
  local status = num(v[1])
  if status == nil then status = num(v[2]) or -1 end
  if status < 0 then return -1 end
  return status
end

-- A taste sum is one field holding its K numbers, comma-separated (absent = zeros): a vector reads two
-- fields, not 2K.
local function add_vector(key, field, x)
  local sum = split(redis.call('HGET', key, field))
  local out = {}
  for k = 1, K do out[k] = fmt((tonumber(sum[k]) or 0) + tonumber(x[k])) end
  redis.call('HSET', key, field, table.concat(out, ','))
end

local function observe_taste(key, x, skipped)
  if skipped == 1 then
    add_vector(key, 'tq', x); add_vector(G, 'gtq', x)
    redis.call('HINCRBY', key, 'sc', 1); redis.call('HINCRBY', G, 'tcs', 1)
  else
    add_vector(key, 'tp', x); add_vector(G, 'gtp', x)
    redis.call('HINCRBY', key, 'pc', 1); redis.call('HINCRBY', G, 'tcp', 1)
  end
end

local function observe_session(session, sessionStart, start, skipped, fraction)
  local key = P .. 'ss:' .. session
  if redis.call('HINCRBY', key, 'n', 1) == 1 then
    redis.call('RPUSH', P .. 'ss', session)
    redis.call('HSET', key, 'st', fmt(sessionStart or start))
  end
  if skipped == 1 then redis.call('HINCRBY', key, 's', 1) end
  redis.call('HSET', key, 'ls', skipped)
  if fraction == nil then redis.call('HDEL', key, 'lf') else redis.call('HSET', key, 'lf', fmt(fraction)) end
end

-- FeatureState.observe: one finished listen into every family. L.track < 0 = not a catalogue track.
local function observe(L)
  local key = intern(L.user)
  local fraction = nil
  if L.track >= 0 then fraction = heard_fraction(L.heard, L.duration) end
  local last = num(redis.call('HGET', key, 'last'))
  if last == nil or not (last >= L.start) then redis.call('HSET', key, 'last', fmt(L.start)) end
  local premium = premium_of(key)
  tally(G, '', L.skipped, L.liked, fraction, true, true)
  tally(key, '', L.skipped, L.liked, fraction, true, true)
  if premium == 0 or premium == 1 then tally(key, 'st' .. premium, L.skipped, L.liked, nil, false, false) end
  if L.track >= 0 then
    tally(P .. 't:' .. L.track, '', L.skipped, L.liked, fraction, true, true)
    tally(P .. 'a:' .. L.artist, '', L.skipped, L.liked, fraction, true, true)
    pair('ua', L.user, L.artist, L.skipped, L.liked, false)
    pair('ut', L.user, L.track, L.skipped, L.liked, true)
    for _, genre in ipairs(split(L.genres)) do pair('ug', L.user, genre, L.skipped, L.liked, false) end
    observe_taste(key, split(L.taste), L.skipped)
  end
  if L.session ~= nil then observe_session(L.session, L.sessionStart, L.start, L.skipped, fraction) end
  redis.call('HINCRBY', G, 'obs', 1)
end

local function live_key(session) return P .. 'ls:' .. session end
local function deadline_member(seq, session) return string.format('%016d', seq) .. ':' .. session end

local function finish(session, skipped, heard)
  local key = live_key(session)
  local v = redis.call('HMGET', key, 'ou', 'ot', 'os', 'st', 'ol', 'oq', 'od', 'oa', 'og', 'ox')
  redis.call('HSET', key, 'o', 0)
  redis.call('ZREM', P .. 'dl', deadline_member(tonumber(v[6]), session))
  observe({ user = v[1], track = tonumber(v[2]), session = session, start = tonumber(v[3]),
    sessionStart = tonumber(v[4]), skipped = skipped, heard = heard, liked = tonumber(v[5]),
    duration = num(v[7]), artist = v[8], genres = v[9], taste = v[10] })
end

local function finish_played(session)
  local d = num(redis.call('HGET', live_key(session), 'od'))
  if d ~= nil and d > 0 then finish(session, 0, d) else finish(session, 0, nil) end
end

-- The stream clock moves to t; every open listen whose track has ended by then is played out.
local function advance(t)
  local clock = num(redis.call('HGET', G, 'clock'))
  if clock == nil or t > clock then redis.call('HSET', G, 'clock', fmt(t)) end
  while true do
    local top = redis.call('ZRANGEBYSCORE', P .. 'dl', '-inf', fmt(t), 'LIMIT', 0, 1)
    if #top == 0 then break end
    finish_played(string.sub(top[1], 18))
  end
end

-- LiveListens.observe (after a purchase makes its user premium): ARGV kind t user session track
-- duration artist genres taste.
local function apply_event(a)
  local kind, t, user, session, track = tonumber(a[2]), tonumber(a[3]), a[4], a[5], tonumber(a[6])
  if kind == BUY then redis.call('HSET', intern(user), 'pr', 1) end
  advance(t)
  local key = live_key(session)
  local v = redis.call('HMGET', key, 'n', 'o', 'ot')
  if v[1] == false then
    redis.call('RPUSH', P .. 'ls', session)
    redis.call('HSET', key, 'st', fmt(t), 'n', 0, 'o', 0)
  end
  local open = v[2] == '1'
  if kind == PLAY then
    if open then finish_played(session) end
    if track < 0 then return end
    local seq = n0(redis.call('HGET', G, 'seq'))
    redis.call('HSET', G, 'seq', string.format('%d', seq + 1))
    redis.call('HSET', key, 'o', 1, 'ou', user, 'ot', track, 'os', fmt(t), 'ol', 0,
      'oq', string.format('%d', seq), 'od', a[7], 'oa', a[8], 'og', a[9], 'ox', a[10])
    redis.call('HINCRBY', key, 'n', 1)
    local d = num(a[7])
    if d ~= nil and d > 0 then redis.call('ZADD', P .. 'dl', fmt(t + d), deadline_member(seq, session)) end
  elseif kind == SKIP then
    if not open or tonumber(v[3]) ~= track then return end
    local d = num(redis.call('HGET', key, 'od'))
    if d ~= nil and d > 0 then
      finish(session, 1, math.min(t - tonumber(redis.call('HGET', key, 'os')), d))
    else
      finish(session, 1, nil)
    end
  elseif kind == LIKE then
    if open and tonumber(v[3]) == track then redis.call('HSET', key, 'ol', 1) end
  end
end

-- The fields a vector reads, built once when the library loads.
local GLOBAL_FIELDS = { 'n', 's', 'l', 'hc', 'hs', 'tcp', 'tcs', 'gtp', 'gtq' }
local USER_FIELDS = { 'slot', 'n', 's', 'l', 'hc', 'hs', 'last', 'pr', 'cp', 'st0n', 'st0s', 'st1n', 'st1s', 'pc', 'sc',
  'tp', 'tq' }
local NO_SESSION = { false, false, false, false, false }

-- What a vector reads, as one string of space-separated fields (absent = empty: one bulk reply parses far
-- faster than ~80), after the stream moved to the query's time and closed the session's open listen:
-- ARGV t user session ('' = none) track artist genres.
local function read_vector(a)
  local t, user, session, track, artist = tonumber(a[2]), a[3], a[4], a[5], a[6]
  local out, n = {}, 4
  out[1], out[2], out[3], out[4] = '', '0', '', ''
  advance(t)
  if session ~= '' then
    local key = live_key(session)
    local v = redis.call('HMGET', key, 'n', 'o')
    if v[1] ~= false then
      if v[2] == '1' then finish_played(session) end
      local w = redis.call('HMGET', key, 'n', 'st')
      out[2], out[3], out[4] = '1', w[1] or '', w[2] or ''
    end
  end
  out[1] = redis.call('HGET', G, 'clock') or ''
  local function put(values)
    for i = 1, #values do
      n = n + 1
      out[n] = values[i] or ''
    end
  end
  put(redis.call('HMGET', G, unpack(GLOBAL_FIELDS)))
  put(redis.call('HMGET', P .. 'u:' .. user, unpack(USER_FIELDS)))
  put(redis.call('HMGET', P .. 't:' .. track, 'n', 's', 'hc', 'hs'))
  put(redis.call('HMGET', P .. 'a:' .. artist, 'n', 's'))
  put(redis.call('HMGET', P .. 'ua:' .. user .. ':' .. artist, 'n', 's'))
  put(redis.call('HMGET', P .. 'ut:' .. user .. ':' .. track, 'n', 's', 'l'))
  if session ~= '' then put(redis.call('HMGET', P .. 'ss:' .. session, 'st', 'n', 's', 'ls', 'lf'))
  else put(NO_SESSION) end
  for genre in string.gmatch(a[7], '[^,]+') do
    put(redis.call('HMGET', P .. 'ug:' .. user .. ':' .. genre, 'n', 's'))
  end
  return table.concat(out, ' ')
end

-- A finished listen reported without a session: ARGV user track start skipped heard liked duration artist
-- genres taste.
local function observe_listen(a)
  observe({ user = a[2], track = tonumber(a[3]), start = tonumber(a[4]), skipped = tonumber(a[5]),
    heard = num(a[6]), liked = tonumber(a[7]), duration = num(a[8]), artist = a[9], genres = a[10],
    taste = a[11] })
end

local function run(keys, args)
  P = keys[1]
  G = P .. 'g'
  local op = args[1]
  if op == 'event' then apply_event(args)
  elseif op == 'vector' then return read_vector(args)
  elseif op == 'observe' then observe_listen(args)
  else return redis.error_reply('skipwise feature store: unknown operation ' .. tostring(op)) end
  return redis.call('HGET', G, 'clock')
end
`;

/**
 * Loaded once as a Redis Function library (FUNCTION LOAD): its functions are compiled once, not on every
 * call as an EVAL script's are (measured: the script spent ~40 µs per call re-creating its ~20 closures and
 * tables). Named by a hash of its code, so replicas of different versions never replace each other's.
 */
export const FEATURE_STORE_FUNCTION = `skipwise_state_${fnv1a32(BODY).toString(16).padStart(8, "0")}`;
export const FEATURE_STORE_LIBRARY = `#!lua name=skipwise_${fnv1a32(BODY).toString(16).padStart(8, "0")}
${BODY}
redis.register_function('${FEATURE_STORE_FUNCTION}', run)
`;
