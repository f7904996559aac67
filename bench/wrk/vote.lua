-- The seed's round: read the poll's form, then vote for a random choice, waiting between requests
-- like the seed's Locust users. wrk calls request() per thread, not per connection, so each thread
-- alternates GET and POST. Arguments, from bench/run.py's load_args() (a real GET of the form): the
-- page and vote paths, question id, think time min and max (ms), CSRF token, choices' ids ("3,4,5").
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
  return think_max > 0 and math.random(think_min, think_max) or 0
end
