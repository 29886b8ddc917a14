--[==[
mask_pii.lua — mask or pseudonymise personal data (phone numbers, contact
details) in call events, for GDPR-minded deployments.

  transforms:
    masked:
      plugin: lua
      inputs: [events]
      api: 1
      script: /usr/share/martflow/lua/mask_pii.lua
      params:
        fields: [ANI, DNIS, UserData.ContactInfo]   # dotted paths (this is the default)
        keep: 4               # digits left visible at the end (default 4)
        mask: "*"             # the masking character (default "*")
        mode: mask            # mask (default) | hash
        hash_key: ${file:/etc/martflow/pii-key}   # mode hash: HMAC-SHA-256 key
        hash_length: 16       # mode hash: hex digits kept (default 64 = all)

mode mask: every letter and digit (and non-ASCII character) is replaced by the mask character except the
last `keep` digits; other characters (+, spaces, dashes, @, dots) stay, so the
shape of the value is recognisable: "+44 1234 567890" -> "+** **** **7890",
"ann@example.com" -> "***@*******.***". A value with `keep` digits or fewer is
masked entirely (a 4-digit extension is not revealed by keep: 4).

mode hash: the value becomes "h:" followed by HMAC-SHA-256(hash_key, value) in
hex (SHA-256 when no key is given: only do that for values with a lot of
entropy — phone numbers are easily brute-forced, so give a key). Equal inputs
give equal pseudonyms, so records stay joinable.

Numbers are treated as their decimal text (the result is a string); null,
missing fields, objects and arrays are left as they are. Records that are not
JSON objects pass unchanged.
]==]

local fields, keep, mask_char, mode, hash_key, hash_length

local function split_path(path)
  local parts = {}
  for part in string.gmatch(path, "[^.]+") do
    parts[#parts + 1] = part
  end
  assert(#parts > 0, "mask_pii: empty field path")
  return parts
end

function init(params)
  params = params or {}
  local list = params.fields or { "ANI", "DNIS", "UserData.ContactInfo" }
  fields = {}
  for i = 1, #list do
    fields[i] = split_path(list[i])
  end
  keep = math.tointeger(params.keep or 4)
  assert(keep and keep >= 0, "mask_pii: keep must be a whole number >= 0")
  mask_char = params.mask or "*"
  mode = params.mode or "mask"
  assert(mode == "mask" or mode == "hash", "mask_pii: mode must be mask or hash")
  hash_key = params.hash_key
  hash_length = math.tointeger(params.hash_length or 64)
  assert(hash_length and hash_length >= 1 and hash_length <= 64, "mask_pii: hash_length must be 1..64")
end

local function mask(text)
  local digits = select(2, string.gsub(text, "%d", ""))
  local visible = digits > keep and keep or 0
  local seen = 0 -- digits passed so far
  -- letters, digits and every byte of a non-ASCII character
  return (string.gsub(text, "[%w\128-\255]", function(c)
    if string.find(c, "%d") then
      seen = seen + 1
      if seen > digits - visible then
        return c
      end
    end
    return mask_char
  end))
end

local function pseudonym(text)
  local h = hash_key and martflow.hmac_sha256(hash_key, text) or martflow.sha256(text)
  return "h:" .. string.sub(h, 1, hash_length)
end

local function protect(value)
  local t = type(value)
  if t == "number" then
    value = math.type(value) == "integer" and string.format("%d", value) or tostring(value)
  elseif t ~= "string" then
    return nil -- null, objects, arrays: left alone
  end
  if mode == "hash" then
    return pseudonym(value)
  end
  return mask(value)
end

function process(record, emit)
  local v = record.value
  if type(v) == "table" and not martflow.is_array(v) then
    for i = 1, #fields do
      local path = fields[i]
      local parent = v
      for j = 1, #path - 1 do
        parent = parent[path[j]]
        if type(parent) ~= "table" then
          parent = nil
          break
        end
      end
      if parent then
        local name = path[#path]
        local old = parent[name]
        if old ~= nil then
          local new = protect(old)
          if new ~= nil and new ~= old then
            parent[name] = new
          end
        end
      end
    end
  end
  emit(record)
end
