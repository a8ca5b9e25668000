-- Shared by the wrk scripts: members taken in turn from a file, status counts per
-- thread, and one "BENCH_COUNTS {json}" line at the end for bench/harness.py.
local threads = {}
local next_thread = 0

function setup(thread)
  thread:set("thread_number", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

function load_members(path)
  local members = {}
  for line in io.lines(path) do
    members[#members + 1] = line
  end
  return members
end

statuses = {}
locked = 0

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if body ~= nil and string.find(body, "locked", 1, true) then
    locked = locked + 1
  end
end

function done(summary, latency, requests)
  local merged, locked_total = {}, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
    locked_total = locked_total + thread:get("locked")
  end
  local ok, refused, failed, parts = 0, 0, 0, {}
  for status, count in pairs(merged) do
    if status < 300 then ok = ok + count elseif status < 500 then refused = refused + count else failed = failed + count end
    parts[#parts + 1] = string.format('"%d": %d', status, count)
  end
  io.write(string.format(
    'BENCH_COUNTS {"ok": %d, "refused": %d, "failed": %d, "locked": %d, "errors": %d, "statuses": {%s}}\n',
    ok, refused, failed, locked_total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ", ")))
end
