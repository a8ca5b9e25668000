-- Request a path ending in a member number, the members in turn: /api/v1/members/{no},
-- or bench/bare.py's endpoints. Arguments: members file, path prefix, API token, and the
-- method (GET when not given).
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local members, prefix, headers, method, count

function init(args)
  members = load_members(args[1])
  prefix = args[2]
  headers = {["Authorization"] = "Bearer " .. args[3]}
  method = args[4] or "GET"
  count = 0
end

function request()
  count = count + 1
  return wrk.format(method, prefix .. members[((thread_number * 7919 + count) % #members) + 1], headers)
end
