-- A write scenario: POST the same form over and over. The CSRF token comes from a real GET of
-- the poll's form (bench/run.py's load_args()), so every request of the window is a write.
-- Arguments: csrf token, form body (e.g. "question=1&choice=3").
local write

function init(args)
  local token, body = args[1], args[2]
  local headers = {["Cookie"] = "csrftoken=" .. token}
  headers["X-CSRFToken"], headers["Content-Type"] = token, "application/x-www-form-urlencoded"
  write = wrk.format("POST", nil, headers, body)
end

function request()
  return write
end
