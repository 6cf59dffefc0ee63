-- bench/state-fill.lua - wrk script for bench/state.sh (run with -t1):
-- PUTs keys k0 .. k(N-1) of the namespace `bench` in order, N =
-- $BENCH_STATE_KEYS (default 10000), the same value as state-put.lua.
-- Once N + 256 answers arrived (each connection has one request in
-- flight at most, so every key's PUT has been answered) it prints
-- "state-fill: done" and ends wrk at once (wrk itself would wait for the
-- whole -d duration); on an error status it prints the status and exits
-- 1.
local keys = tonumber(os.getenv("BENCH_STATE_KEYS") or "10000")
local body = '{"n":42,"s":"bench","ok":true}'
local headers = { ["Content-Type"] = "application/json" }
local i, answered = 0, 0

function request()
	local k = i % keys
	i = i + 1
	return wrk.format("PUT", "/gateway/v1/internal/state/bench/k" .. k,
		headers, body)
end

function response(status, headers, body)
	answered = answered + 1
	if status ~= 200 and status ~= 201 then
		io.stdout:write("state-fill: status " .. status .. ": " ..
			tostring(body) .. "\n")
		io.stdout:flush()
		os.exit(1)
	elseif answered >= keys + 256 then
		io.stdout:write("state-fill: done, " .. answered ..
			" answers\n")
		io.stdout:flush()
		os.exit(0)
	end
end
