-- wrk script for bench/checkin_load.py: every request a new member, so every
-- answer should be 201 and every one of them must be on disk afterwards.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  recorded = 0
  other = 0
  session = args[1]
  branch = args[2]
end

local function encode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  counter = counter + 1
  local body = "session=" .. encode(session) .. "&branch=" .. encode(branch) ..
               "&name=" .. encode("压测党员" .. id .. "-" .. counter)
  return wrk.format("POST", "/checkin", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }, body)
end

function response(status, headers, body)
  if status == 201 then recorded = recorded + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local total_recorded, total_other = 0, 0
  for _, thread in ipairs(threads) do
    total_recorded = total_recorded + thread:get("recorded")
    total_other = total_other + thread:get("other")
  end
  io.write(string.format("KITE recorded=%d other=%d p50_us=%d p99_us=%d requests=%d seconds=%.3f\n",
    total_recorded, total_other, latency:percentile(50), latency:percentile(99),
    summary.requests, summary.duration / 1e6))
end
