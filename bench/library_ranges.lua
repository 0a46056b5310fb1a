-- wrk script for bench/library_download.sh: every request asks for a random
-- range of RANGE bytes of a file of SIZE bytes (both from the environment),
-- aligned to the range size as download managers align their segments; at
-- the end it prints BYTES=<body bytes received> for the script to read.
local size = tonumber(os.getenv("SIZE"))
local range = tonumber(os.getenv("RANGE"))
local slots = math.floor(size / range)

function request()
  local start = math.random(0, slots - 1) * range
  wrk.headers["Range"] = string.format("bytes=%d-%d", start, start + range - 1)
  return wrk.format("GET")
end

function done(summary, latency, requests)
  io.write(string.format("BYTES=%d\n", summary.bytes))
end
