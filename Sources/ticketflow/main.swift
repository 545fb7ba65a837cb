print("ticketflow")
