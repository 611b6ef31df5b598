-- wrk script for POST /auth/login: the same JSON body on every request.
-- The credentials come from the environment (BENCH_LOGIN_EMAIL, BENCH_LOGIN_PASSWORD), set by bench/rest.py.

local function json_string(text)
  return '"' .. text:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

local email = os.getenv("BENCH_LOGIN_EMAIL")
local password = os.getenv("BENCH_LOGIN_PASSWORD")
if not email or not password then
  error("login.lua: set BENCH_LOGIN_EMAIL and BENCH_LOGIN_PASSWORD")
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"userName":' .. json_string(email) .. ',"password":' .. json_string(password) .. '}'
