-- bench/state-put.lua - wrk script for bench/state.sh: PUT a small JSON
-- value to a random key among $BENCH_STATE_KEYS (default 10000) of the
-- namespace `bench` of the internal state API. Every answer must be 200
-- or 201 (wrk counts the others as "Non-2xx or 3xx responses").
local keys = tonumber(os.getenv("BENCH_STATE_KEYS") or "10000")
local body = '{"n":42,"s":"bench","ok":true}'
local headers = { ["Content-Type"] = "application/json" }

function init(args)
	-- Each wrk thread has its own Lua state: seed each differently.
	local addr = tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0
	math.randomseed(os.time() + addr)
end

function request()
	local k = math.random(0, keys - 1)
	return wrk.format("PUT", "/gateway/v1/internal/state/bench/k" .. k,
		headers, body)
end
