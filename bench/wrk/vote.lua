-- The seed's round: read the page (the poll's form), then vote for a random choice with the form's
-- CSRF token in the cookie and in X-CSRFToken, waiting between requests like the seed's Locust
-- users. wrk calls request() per thread, not per connection, so each thread alternates GET and POST.
-- Arguments: page path, vote path, question id, think time min ms, think time max ms, the token,
-- the choices' ids ("3,4,5"), as bench/run.py's load_args() read them from a real GET of the form.
local page, voting, question, think_min, think_max, token
local choices, sent = {}, 0

function init(args)
  page, voting, question, token = args[1], args[2], args[3], args[6]
  think_min, think_max = tonumber(args[4]), tonumber(args[5])
  for id in args[7]:gmatch("%d+") do table.insert(choices, id) end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  sent = sent + 1
  local headers = {["Cookie"] = "csrftoken=" .. token}
  if sent % 2 == 1 then
    return wrk.format("GET", page, headers)
  end
  headers["X-CSRFToken"], headers["Content-Type"] = token, "application/x-www-form-urlencoded"
  local body = "question=" .. question .. "&choice=" .. choices[math.random(#choices)]
  return wrk.format("POST", voting, headers, body)
end

function delay()
  if think_max <= 0 then return 0 end
  return math.random(think_min, think_max)
end
