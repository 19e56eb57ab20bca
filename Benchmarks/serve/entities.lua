-- wrk script: POST /v1/entities with one sentence a request, taken in turn from the file named by
-- $SENTENCES (one sentence a line), each wrk thread starting at a different line.
--   SENTENCES=sentences.txt wrk -t2 -c16 -d30s --latency -s Benchmarks/serve/entities.lua http://127.0.0.1:8080
local bodies = {}
local next_body = 1

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == '\\' then return '\\\\' else return string.format('\\u%04x', c:byte()) end
  end) .. '"'
end

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("offset", thread_count * 997)
end

function init(args)
  local path = os.getenv("SENTENCES") or error("set SENTENCES to a file with one sentence a line")
  for line in io.lines(path) do
    if #line > 0 then bodies[#bodies + 1] = '{"text": ' .. json_string(line) .. '}' end
  end
  if #bodies == 0 then error(path .. ": no sentences") end
  next_body = ((offset or 0) % #bodies) + 1
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local body = bodies[next_body]
  next_body = next_body % #bodies + 1
  return wrk.format(nil, "/v1/entities", nil, body)
end
