-- The seed's round: open the poll's form (it sets the csrftoken cookie and lists the choices),
-- then vote for a random choice with the token in X-CSRFToken, waiting between requests like
-- the seed's Locust users. wrk calls request() per thread, not per connection, so each thread
-- alternates GET and POST: every vote carries a token and a choice a real GET gave this thread.
-- Arguments: page path, vote path, question id, think time min ms, think time max ms, and for a
-- page that is not the form, the form's token and a choice.
local poll_path, vote_path, question, think_min, think_max
local token, choices, sent = nil, {}, 0

function init(args)
  poll_path, vote_path, question = args[1], args[2], args[3]
  think_min, think_max = tonumber(args[4]), tonumber(args[5])
  if args[6] then token, choices = args[6], {args[7]} end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  sent = sent + 1
  if token == nil or #choices == 0 or sent % 2 == 1 then
    return wrk.format("GET", poll_path, token and {["Cookie"] = "csrftoken=" .. token} or {})
  end
  local headers = {
    ["Cookie"] = "csrftoken=" .. token,
    ["X-CSRFToken"] = token,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  local body = "question=" .. question .. "&choice=" .. choices[math.random(#choices)]
  return wrk.format("POST", vote_path, headers, body)
end

function response(status, headers, body)
  count_status(status)
  if token == nil then
    for name, value in pairs(headers) do
      if name:lower() == "set-cookie" then
        token = value:match("csrftoken=([^;]+)")
      end
    end
  end
  if #choices == 0 and body then
    for tag in body:gmatch("<input[^>]*>") do
      if tag:find('name="choice"', 1, true) then
        local id = tag:match('value="(%d+)"')
        if id then table.insert(choices, id) end
      end
    end
  end
end

function delay()
  if think_max <= 0 then return 0 end
  return math.random(think_min, think_max)
end
