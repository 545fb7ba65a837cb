-- wrk script: POST a new ticket (the API's documented create shape) on every request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TICKETFLOW_TOKEN") or "")
wrk.body = '{"subject":"Printer on fire","description":"Load test","priority":"normal","channel":"email",' ..
           '"requester":{"name":"Ann","email":"ann@example.com","organization":"acme"},"tags":[],"fields":{}}'
