-- wrk script for scripts/bench_public.py: rotate over a file of requests, one per line,
--   METHOD <TAB> PATH <TAB> USER-AGENT <TAB> X-FORWARDED-FOR <TAB> BODY
-- Arguments (after --): FILE, LIMIT (0: run for the duration, else stop after LIMIT requests
-- in all), DELAY_MS (0: as fast as possible, else wait this long after each response),
-- THREADS (wrk's -t).
-- Each thread takes every n-th line, so the threads never send the same request.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("index", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  local file, limit, delay_ms = args[1], tonumber(args[2]) or 0, tonumber(args[3]) or 0
  local step = tonumber(args[4]) or 1
  local all = {}
  for line in io.lines(file) do
    local method, path, agent, forwarded, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)$")
    local headers = { ["User-Agent"] = agent, ["X-Forwarded-For"] = forwarded }
    if method == "POST" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
    else
      body = nil
    end
    table.insert(all, wrk.format(method, path, headers, body))
  end
  mine = {}
  for i = index, #all, step do
    table.insert(mine, all[i])
  end
  position = 0
  spare = wrk.format("GET", "/healthz")
  -- wrk calls request() once on the first thread's state before any is sent, to check the
  -- request (wrk.c, script_verify_request): that call gets the spare, or the list's first
  -- request would never be sent and a limited run would wait out its whole duration for it.
  verifying = index == 1
  wanted = limit > 0 and math.ceil(#mine * limit / #all) or 0
  if wanted > #mine and limit > 0 then wanted = #mine end
  pause = delay_ms
  answered, s2, s4, s429, s5, other = 0, 0, 0, 0, 0, 0
  started, finished = os.time(), 0
end

function request()
  if verifying then
    verifying = false
    return spare
  end
  position = position + 1
  if wanted > 0 and position > #mine then
    return spare  -- sent while the last answers come in: records nothing
  end
  return mine[(position - 1) % #mine + 1]
end

function delay()
  return pause
end

function response(status, headers, body)
  -- The spare requests' answers (/healthz, JSON) are not the list's: a thread that counted one
  -- of them could stop with one of its own requests still unanswered.
  local kind = headers["Content-Type"] or headers["content-type"] or ""
  if wanted > 0 and kind:find("json", 1, true) and status == 200 then
    return
  end
  answered = answered + 1
  if status >= 200 and status < 300 then s2 = s2 + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status >= 500 then s5 = s5 + 1
  elseif status >= 400 then s4 = s4 + 1
  else other = other + 1 end
  if wanted > 0 and answered >= wanted then
    finished = os.time()  -- whole seconds: the storm's length, not a latency
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local t = { answered = 0, s2 = 0, s4 = 0, s429 = 0, s5 = 0, other = 0 }
  local first, last = nil, 0
  for _, thread in ipairs(threads) do
    for key, _ in pairs(t) do
      t[key] = t[key] + (tonumber(thread:get(key)) or 0)
    end
    local s, f = tonumber(thread:get("started")), tonumber(thread:get("finished"))
    first = (first == nil or s < first) and s or first
    last = (f == 0 or last < 0) and -1 or math.max(last, f)
  end
  io.write(string.format(
    "STATUS answered=%d 2xx=%d 4xx=%d 429=%d 5xx=%d other=%d took=%d\n",
    t.answered, t.s2, t.s4, t.s429, t.s5, t.other, last < 0 and -1 or last - first))
  io.write(string.format("PCT p50=%.3f p90=%.3f p99=%.3f max=%.3f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
