-- wrk script: the creates of create-ticket.lua, each connection pausing TICKETFLOW_PACE_MS
-- milliseconds between requests (wrk has no fixed rate; this holds the load near a target).
dofile("bench/create-ticket.lua")
local pause = tonumber(os.getenv("TICKETFLOW_PACE_MS") or "0")
function delay() return pause end
