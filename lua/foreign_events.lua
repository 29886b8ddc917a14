--[==[
foreign_events.lua — adapt another vendor's call events to martflow's
voice-callthread format (docs: the Info Mart model, §1), so the rest of the
pipeline (call-thread transform, GSP, GIM) works unchanged. It is also the
worked example of how to adapt a feed of your own: copy it and edit the
tables below.

  transforms:
    callthread:
      plugin: lua
      inputs: [acme_events]
      api: 1
      script: /usr/share/martflow/lua/foreign_events.lua
      params:
        tenant: acme            # when the event has no "tenant" (default: reject)
        keep_unknown: true      # unmapped fields go to Extensions.foreign (default true)

The foreign shape (an "Acme Contact Center" webhook, one JSON object per event):

  {
    "type": "call.answered",                     -- see TYPES below
    "occurred_at": "2026-11-30T09:00:01.250Z",   -- RFC 3339 or epoch ms
    "sequence": 17,
    "tenant": "acme",
    "call": {
      "thread": "th-1001",        -- the call thread (all legs of one customer call)
      "uuid": "9f1c...",          -- the call's UUID
      "leg": "leg-2",             -- this connection
      "previous_leg": "leg-1",    -- after a transfer
      "direction": "inbound",     -- inbound | outbound | internal | consult
      "state": "ok",
      "from": "+441234567890",    -- ANI
      "to": "+448000123456",      -- DNIS
      "queue": "8001"
    },
    "party": {
      "device": "5001",           -- the DN this event is about
      "device_type": "agent",     -- agent | queue | virtual_queue | routing_point | ivr | external
      "role": "destination",      -- origination | destination | conference_member | ...
      "other_device": "+441234567890",
      "other_role": "origination",
      "third_party": "5002",
      "agent": {"login": "a0042", "station": "P-12"}
    },
    "reason": {"code": "Busy"},
    "tags": {"Segment": "gold"}   -- attached data
  }

becomes

  {"id": "EventEstablished", "time": "2026-11-30T09:00:01.250Z", "seq": 17,
   "CallThreadID": "th-1001", "CallID": "9f1c...", "ConnID": "leg-2",
   "PreviousConnID": "leg-1", "CallType": "Inbound", "CallState": "ok",
   "ThisDN": "5001", "ThisDNType": "Extension", "ThisDNRole": "Destination",
   "OtherDN": "+441234567890", "OtherDNRole": "Origination",
   "ThirdPartyDN": "5002", "ThisQueue": "8001", "AgentID": "a0042",
   "Place": "P-12", "ANI": "+441234567890", "DNIS": "+448000123456",
   "UserData": {"Segment": "gold"}, "Reasons": {"ReasonCode": "Busy"},
   "Extensions": {"source": "acme", "foreign_type": "call.answered"},
   "Tenant": "acme"}

with the record key "{tenant}:{CallThreadID}". Fields absent from the foreign
event are absent from the result. An event without type, occurred_at or
call.thread, or with a type not in TYPES, is rejected (errors port) with the
reason. Fields of the foreign event that are not mapped are kept under
Extensions.foreign (keep_unknown), so nothing is lost silently.
]==]

-- foreign type -> event name
TYPES = {
  ["call.routing"] = "EventRouteRequest",
  ["call.routed"] = "EventRouteUsed",
  ["call.queued"] = "EventQueued",
  ["call.diverted"] = "EventDiverted",
  ["call.ringing"] = "EventRinging",
  ["call.dialing"] = "EventDialing",
  ["call.network_reached"] = "EventNetworkReached",
  ["call.busy"] = "EventDestinationBusy",
  ["call.answered"] = "EventEstablished",
  ["call.held"] = "EventHeld",
  ["call.resumed"] = "EventRetrieved",
  ["call.ended"] = "EventReleased",
  ["call.abandoned"] = "EventAbandoned",
  ["call.transferred"] = "EventPartyChanged",
  ["call.conferenced"] = "EventPartyAdded",
  ["call.party_left"] = "EventPartyDeleted",
  ["call.data_updated"] = "EventAttachedDataChanged",
  ["call.user_event"] = "EventUserEvent",
}

local DIRECTIONS = { inbound = "Inbound", outbound = "Outbound", internal = "Internal", consult = "Consult" }

local DEVICE_TYPES = {
  agent = "Extension", extension = "Extension", position = "ACDPosition", queue = "ACDQueue",
  virtual_queue = "VirtualQueue", routing_point = "RoutingPoint", ivr = "IVR", external = "External",
}

local ROLES = {
  origination = "Origination", destination = "Destination", conference_member = "ConferenceMember",
  added_party = "AddedParty", deleted_party = "DeletedParty", transferred = "Transferred",
  new_party = "NewParty",
}

-- The parts of the foreign event this script maps (the rest is "unknown").
local KNOWN_TOP = { type = true, occurred_at = true, sequence = true, tenant = true, call = true, party = true,
  reason = true, tags = true }
local KNOWN_CALL = { thread = true, uuid = true, leg = true, previous_leg = true, direction = true, state = true,
  from = true, to = true, queue = true }
local KNOWN_PARTY = { device = true, device_type = true, role = true, other_device = true, other_role = true,
  third_party = true, agent = true }

local default_tenant, keep_unknown

function init(params)
  params = params or {}
  default_tenant = params.tenant
  keep_unknown = params.keep_unknown ~= false
end

local function present(x)
  return x ~= nil and x ~= martflow.null
end

local function lookup(map, value, what)
  if not present(value) then return nil end
  local mapped = map[value]
  if mapped == nil then
    error(string.format("unknown %s '%s'", what, tostring(value)), 0)
  end
  return mapped
end

-- Unmapped members of obj (an object) into dst[name].
local function unknown(obj, known, dst, name)
  if type(obj) ~= "table" then return end
  for k, x in pairs(obj) do
    if not known[k] then
      dst[name] = dst[name] or martflow.object()
      dst[name][k] = x
    end
  end
end

function process(record, emit)
  local f = record.value
  if type(f) ~= "table" or martflow.is_array(f) then
    error("not a JSON object", 0)
  end
  local call = f.call
  if not present(f.type) then error("missing field 'type'", 0) end
  if not present(f.occurred_at) then error("missing field 'occurred_at'", 0) end
  if type(call) ~= "table" or not present(call.thread) then error("missing field 'call.thread'", 0) end
  local id = TYPES[f.type]
  if not id then error(string.format("unknown event type '%s'", tostring(f.type)), 0) end
  local tenant = present(f.tenant) and f.tenant or default_tenant
  if not tenant then error("missing field 'tenant' (and no params.tenant)", 0) end

  local party = type(f.party) == "table" and f.party or {}
  local agent = type(party.agent) == "table" and party.agent or {}
  local e = {
    id = id,
    time = f.occurred_at,
    seq = f.sequence,
    Tenant = tenant,
    CallThreadID = call.thread,
    CallID = call.uuid,
    ConnID = call.leg,
    PreviousConnID = call.previous_leg,
    CallType = lookup(DIRECTIONS, call.direction, "call.direction"),
    CallState = call.state,
    ANI = call.from,
    DNIS = call.to,
    ThisQueue = call.queue,
    ThisDN = party.device,
    ThisDNType = lookup(DEVICE_TYPES, party.device_type, "party.device_type"),
    ThisDNRole = lookup(ROLES, party.role, "party.role"),
    OtherDN = party.other_device,
    OtherDNRole = lookup(ROLES, party.other_role, "party.other_role"),
    ThirdPartyDN = party.third_party,
    AgentID = agent.login,
    Place = agent.station,
    UserData = f.tags,
  }
  if type(f.reason) == "table" and present(f.reason.code) then
    e.Reasons = { ReasonCode = f.reason.code }
  end
  local ext = { source = "acme", foreign_type = f.type }
  if keep_unknown then
    local foreign = {}
    unknown(f, KNOWN_TOP, foreign, "top")
    unknown(call, KNOWN_CALL, foreign, "call")
    unknown(f.party, KNOWN_PARTY, foreign, "party")
    if next(foreign) then ext.foreign = foreign end
  end
  e.Extensions = ext
  -- JSON null in the foreign event: the field is absent in ours
  for k, x in pairs(e) do
    if x == martflow.null then e[k] = nil end
  end

  record.value = e
  record.key = tenant .. ":" .. tostring(call.thread)
  emit(record)
end
