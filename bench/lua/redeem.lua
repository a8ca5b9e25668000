-- POST /api/v1/redemptions: every request a new Idempotency-Key, the members in turn,
-- each with the rotating code their phone shows now (the QR's 18 digits).
-- Arguments: phone codes file (harness.phone_codes), perk id, API token, a tag that
-- makes this run's keys unique.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local phones, first_step, perk_id, token, tag, count

function init(args)
  phones, first_step = {}, nil
  for line in io.lines(args[1]) do
    if first_step == nil then
      first_step = tonumber(line)
    else
      local fields = {}
      for field in string.gmatch(line, "%S+") do
        fields[#fields + 1] = field
      end
      phones[#phones + 1] = fields
    end
  end
  perk_id, token, tag = args[2], args[3], args[4]
  count = 0
end

function request()
  count = count + 1
  local phone = phones[((thread_number * 7919 + count * 2) % #phones) + 1]
  local step = math.floor(os.time() / 30) - first_step + 2
  local code = phone[math.min(math.max(step, 2), #phone)]
  return wrk.format("POST", "/api/v1/redemptions", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = string.format("%s-%d-%d", tag, thread_number, count),
  }, string.format('{"member_no": "%s%s", "perk_id": %s}', phone[1], code, perk_id))
end
