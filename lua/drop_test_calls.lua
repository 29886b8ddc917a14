--[==[
drop_test_calls.lua — drop the events of test calls: calls to or from test
DNs, and calls handled by test agents, so they never reach the Info Mart.

  transforms:
    real_calls:
      plugin: lua
      inputs: [events]
      api: 1
      script: /usr/share/martflow/lua/drop_test_calls.lua
      params:
        test_dns: ["5999", "+448000000000"]        # exact DN numbers
        dn_fields: [ThisDN, OtherDN, ThirdPartyDN, ANI, DNIS]   # where to look (default)
        agents: ["qa-bot"]                         # exact agent IDs (AgentID)
        agent_ranges: [[9000, 9099], [99000, 99999]]  # inclusive ranges of numeric agent IDs
        by_thread: true          # also drop the rest of a call thread once one of
                                 # its events matched (default true)
        max_threads: 100000      # how many test call threads to remember

An agent ID is in a range when its digits, read as a number, are: "9042" and
"agent9042" are both 9042; an ID without digits is in no range.

With by_thread, every later event with the same CallThreadID is dropped too
(for instance the agent's EventReleased, which does not carry the test DN).
This is per-key state: run the node with the CallThreadID (or the Kafka key
"{tenant}:{CallThreadID}") as the record key, so that with parallelism: N a
call thread always reaches the same worker. The remembered threads are kept
in two generations of max_threads each; the older one is forgotten when the
newer fills up.

The number of dropped events is logged at the end of input and kept in the
global `dropped` (by reason: dn, agent, thread).
]==]

local test_dns, dn_fields, agents, ranges, by_thread, max_threads
local threads_new, threads_old, n_new = {}, {}, 0
dropped = { dn = 0, agent = 0, thread = 0 }

local function set_of(list, what)
  local s = {}
  for i = 1, #(list or {}) do
    local v = list[i]
    assert(type(v) == "string" or math.type(v) == "integer",
      "drop_test_calls: " .. what .. " must list strings or integers")
    s[tostring(v)] = true
  end
  return s
end

function init(params)
  params = params or {}
  test_dns = set_of(params.test_dns, "test_dns")
  agents = set_of(params.agents, "agents")
  dn_fields = params.dn_fields or { "ThisDN", "OtherDN", "ThirdPartyDN", "ANI", "DNIS" }
  ranges = {}
  for i, r in ipairs(params.agent_ranges or {}) do
    local lo, hi = math.tointeger(r[1]), math.tointeger(r[2])
    assert(lo and hi and lo <= hi, "drop_test_calls: agent_ranges[" .. i .. "] must be [low, high] integers")
    ranges[i] = { lo, hi }
  end
  by_thread = params.by_thread ~= false
  max_threads = math.tointeger(params.max_threads or 100000)
end

local function remember(thread)
  if threads_new[thread] then return end
  if n_new >= max_threads then
    threads_old, threads_new, n_new = threads_new, {}, 0
  end
  threads_new[thread] = true
  n_new = n_new + 1
end

local function agent_is_test(id)
  if id == nil or id == martflow.null then return false end
  id = tostring(id)
  if agents[id] then return true end
  local digits = string.gsub(id, "%D", "")
  local n = #digits > 0 and #digits <= 18 and math.tointeger(tonumber(digits)) or nil
  if not n then return false end
  for i = 1, #ranges do
    if n >= ranges[i][1] and n <= ranges[i][2] then return true end
  end
  return false
end

-- Why the event is a test call's, or nil.
local function reason(v)
  local thread = v.CallThreadID
  if by_thread and thread ~= nil and (threads_new[thread] or threads_old[thread]) then
    return "thread"
  end
  for i = 1, #dn_fields do
    local dn = v[dn_fields[i]]
    if dn ~= nil and dn ~= martflow.null and test_dns[tostring(dn)] then
      return "dn"
    end
  end
  if agent_is_test(v.AgentID) then
    return "agent"
  end
  return nil
end

function process(record, emit)
  local v = record.value
  if type(v) ~= "table" or martflow.is_array(v) then
    emit(record) -- not an event: not ours to judge
    return
  end
  local why = reason(v)
  if not why then
    emit(record)
    return
  end
  dropped[why] = dropped[why] + 1
  local thread = v.CallThreadID
  if by_thread and why ~= "thread" and type(thread) == "string" then
    remember(thread)
  end
end

function shutdown(emit)
  martflow.log("info", string.format("drop_test_calls: dropped %d events (test DN %d, test agent %d, test call thread %d)",
    dropped.dn + dropped.agent + dropped.thread, dropped.dn, dropped.agent, dropped.thread))
end
