-- POST /api/v1/redemptions: every request a new Idempotency-Key, the members in turn.
-- Arguments: members file, perk id, API token, a tag that makes this run's keys unique.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local members, perk_id, token, tag, count

function init(args)
  members = load_members(args[1])
  perk_id, token, tag = args[2], args[3], args[4]
  count = 0
end

function request()
  count = count + 1
  local member = members[((thread_number * 7919 + count * 2) % #members) + 1]
  return wrk.format("POST", "/api/v1/redemptions", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = string.format("%s-%d-%d", tag, thread_number, count),
  }, string.format('{"member_no": "%s", "perk_id": %s}', member, perk_id))
end
