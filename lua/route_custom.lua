--[==[
route_custom.lua — send the events that carry given attached-data keys
(UserData) to a `custom` port, feeding the gsp-custom flow (custom facts and
dimensions from attached data).

  transforms:
    routed:
      plugin: lua
      inputs: [events]
      api: 1
      ports: [custom]           # required: the port this filter emits to
      script: /usr/share/martflow/lua/route_custom.lua
      params:
        keys: [CustomerSegment, CaseID]   # attached-data keys (required)
        port: custom            # the port (default custom; declare it in ports:)
        copy: true              # also pass every event on to the default port (default true)
        only_keys: false        # on the custom port, keep only these keys in UserData
  sinks:
    custom_out: {plugin: ..., inputs: [routed.custom]}
    ixn_out:    {plugin: ..., inputs: [routed]}

An event goes to the custom port when its UserData object has at least one of
the keys with a non-null value. With copy (the default) every event also
continues on the default port unchanged; with copy: false the events sent to
the custom port leave the default flow. With only_keys the custom copy's
UserData is reduced to the listed keys (other attached data can be large or
personal); the default copy is never changed.
]==]

local keys, port, copy, only_keys

function init(params)
  params = params or {}
  keys = params.keys
  assert(type(keys) == "table" and #keys > 0, "route_custom: params.keys must list attached-data keys")
  for i = 1, #keys do
    assert(type(keys[i]) == "string", "route_custom: params.keys must be strings")
  end
  port = params.port or "custom"
  copy = params.copy ~= false
  only_keys = params.only_keys == true
end

local function has_custom(ud)
  if type(ud) ~= "table" then return false end
  for i = 1, #keys do
    local v = ud[keys[i]]
    if v ~= nil and v ~= martflow.null then return true end
  end
  return false
end

function process(record, emit)
  local v = record.value
  local ud = type(v) == "table" and v.UserData or nil
  if not has_custom(ud) then
    emit(record)
    return
  end
  if copy then
    emit(record) -- the default copy first, untouched
  end
  if only_keys then
    -- emit() took the default copy as it was: editing the value now changes
    -- only what is emitted next
    local reduced = martflow.object()
    for i = 1, #keys do
      local x = ud[keys[i]]
      if x ~= nil then reduced[keys[i]] = x end
    end
    v.UserData = reduced
  end
  emit(record, port)
end
