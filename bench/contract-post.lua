-- bench/contract-post.lua - wrk script for bench/contract.sh: every request
-- is a POST of the same JSON body, as application/json, to the path of
-- wrk's URL. The body is read once, at start, from $BENCH_CONTRACT_BODY
-- (default contract-body.json in the directory wrk runs in), so that the
-- script checks and wrk sends the same bytes.
local path = os.getenv("BENCH_CONTRACT_BODY") or "contract-body.json"
local f = assert(io.open(path, "rb"))

wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
