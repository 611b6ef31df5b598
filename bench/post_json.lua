-- wrk script: POST the JSON body in BENCH_BODY (set by the bench script) on every request.
local body = os.getenv("BENCH_BODY")
if not body then
  error("post_json.lua: set BENCH_BODY")
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = body
