-- bench/state-get.lua - wrk script for bench/state.sh: GET a random key
-- among $BENCH_STATE_KEYS (default 10000) of the namespace `bench` of the
-- internal state API. bench/state-fill.lua wrote them all first, so every
-- answer must be 200.
local keys = tonumber(os.getenv("BENCH_STATE_KEYS") or "10000")

function init(args)
	local addr = tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0
	math.randomseed(os.time() + addr)
end

function request()
	local k = math.random(0, keys - 1)
	return wrk.format("GET", "/gateway/v1/internal/state/bench/k" .. k)
end
