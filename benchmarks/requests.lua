-- wrk script: cycle through prepared requests and print a machine-readable summary.
-- The file named after `--` holds one request a line: METHOD<TAB>PATH[<TAB>BODY].
-- Headers come from wrk's -H options. Requests are formatted once, in init, so that sending one
-- costs wrk as little as a fixed path would.

local prepared = {}
local position = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    if method then
      if body == "" then body = nil end
      prepared[#prepared + 1] = wrk.format(method, path, nil, body)
    end
  end
  file:close()
  assert(#prepared > 0, "no requests in " .. args[1])
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
