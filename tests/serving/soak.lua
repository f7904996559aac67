-- The soak's request mix: async views at the benchmark's D=100 ms, plus the baseline.
local paths = {
  "/demo/async_upstream/?delay=100",
  "/demo/async_fanout/?n=5&delay=100",
  "/demo/async_hello/",
}

request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
