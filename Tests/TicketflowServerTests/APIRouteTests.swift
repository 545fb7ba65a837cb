import Foundation
import HTTPTypes
import Testing
import TicketflowAPI
import TicketflowCore
import TicketflowTesting

/// Every route of the API and every error it documents, against the application built in
/// process by `buildApplication` (the same function the server runs).
@Suite(.timeLimit(.minutes(2))) struct APIRouteTests {
    @Test func macrosAreListedWithTheirPlaceholders() async throws {
        let workflow = TestNodes.workflow + """

          - {name: greet, then: [{comment: {public: true, body: "Hello {{ticket.requester.name}}, about {{ticket.subject}}"}}, {macro: ask}]}
        """
        try await InProcessApp.run(workflow: workflow) { api in
            let list = try await api.send(.get, "/api/v1/macros").decode(MacroList.self)
            #expect(list.macros == [MacroList.Entry(name: "ask", placeholders: []),
                                    MacroList.Entry(name: "greet", placeholders: ["ticket.requester.name", "ticket.subject"])])
        }
    }

    @Test func ticketsAreCreatedReadListedAndRetriedByKey() async throws {
        try await InProcessApp.run { api in
            let created = try await api.send(.post, "/api/v1/tickets", raw: #"{"subject":"Printer down","priority":"high","channel":"phone","requester":{"name":"Ann","email":"ann@example.com","organization":"acme"},"tags":["printer"],"fields":{"floor":"3"},"type":"incident","skills":["hw"]}"#,
                                         headers: [.idempotencyKey: "form-1"])
            #expect(created.status == .created)
            let ticket = try created.decode(TicketView.self)
            #expect(created.headers[.location] == "/api/v1/tickets/\(ticket.id)")
            #expect(ticket.priority == .high && ticket.channel == .phone && ticket.fields == ["floor": "3"] && ticket.requiredSkills == ["hw"])
            #expect(ticket.line == "L1" && ticket.queue == "first-line" && ticket.comments == [])
            #expect(ticket.sla.map(\.clock) == ["first_reply"])
            // Keys come in declared order, on every run.
            #expect(created.text.hasPrefix(#"{"id":"\#(ticket.id)","subject":"Printer down","description":"","status":"new","priority":"high""#))

            // The same request again (keys in another order) is answered with the first ticket …
            let retried = try await api.send(.post, "/api/v1/tickets", raw: #"{"priority":"high","subject":"Printer down","channel":"phone","requester":{"organization":"acme","name":"Ann","email":"ann@example.com"},"tags":["printer"],"fields":{"floor":"3"},"type":"incident","skills":["hw"]}"#,
                                             headers: [.idempotencyKey: "form-1"])
            #expect(retried.status == .ok && retried.headers[.idempotentReplayed] == "true")
            #expect(try retried.decode(TicketView.self).id == ticket.id)
            // … another request under the same key is refused and creates nothing.
            let reused = try await api.send(.post, "/api/v1/tickets", raw: #"{"subject":"Printer down","requester":{"email":"ann@example.com"}}"#,
                                            headers: [.idempotencyKey: "form-1"])
            #expect(reused.status == .unprocessableContent && reused.errorCode == "idempotency_key_reused")
            #expect(try await api.send(.get, "/api/v1/tickets").decode(TicketPage.self).tickets.map(\.id) == [ticket.id])

            let read = try await api.send(.get, "/api/v1/tickets/\(ticket.id)")
            #expect(try read.status == .ok && (read.decode(TicketView.self)) == ticket)

            for i in 0..<4 { _ = try await api.create("t\(i)", priority: i == 0 ? .urgent : .low) }
            let page1 = try await api.send(.get, "/api/v1/tickets?limit=2").decode(TicketPage.self)
            #expect(page1.tickets.map(\.id) == ["1", "2"] && page1.nextAfter == 2 && page1.tickets.allSatisfy { $0.comments == nil })
            let page3 = try await api.send(.get, "/api/v1/tickets?limit=2&after=4").decode(TicketPage.self)
            #expect(page3.tickets.map(\.id) == ["5"] && page3.nextAfter == nil)
            #expect(try await api.send(.get, "/api/v1/tickets?priority=urgent").decode(TicketPage.self).tickets.map(\.id) == ["2"])
            #expect(try await api.send(.get, "/api/v1/tickets?status=new&line=L1&queue=first-line").decode(TicketPage.self).tickets.count == 5)
            #expect(try await api.send(.get, "/api/v1/tickets?sla=at_risk").decode(TicketPage.self).tickets.count == 5)
            #expect(try await api.send(.get, "/api/v1/tickets?sla=breached").decode(TicketPage.self).tickets.isEmpty)
            // A line the workflow does not have holds no ticket.
            #expect(try await api.send(.get, "/api/v1/tickets?line=L9").decode(TicketPage.self).tickets.isEmpty)
            api.clock.advance(by: .minutes(61))
            #expect(try await api.send(.get, "/api/v1/tickets?sla=breached").decode(TicketPage.self).tickets.count == 5)
        }
    }

    @Test func badTicketRequestsGetTheirErrorAndChangeNothing() async throws {
        try await InProcessApp.run { api in
            let cases: [(HTTPRequest.Method, String, String?, HTTPResponse.Status, String)] = [
                (.post, "/api/v1/tickets", "{not json", .badRequest, "malformed_json"),
                (.post, "/api/v1/tickets", "", .badRequest, "malformed_json"),
                (.post, "/api/v1/tickets", "[]", .badRequest, "malformed_json"),
                (.post, "/api/v1/tickets", #"{"subject":"s","requester":{"email":"a@b"},"colour":"red"}"#, .badRequest, "unknown_field"),
                (.post, "/api/v1/tickets", #"{"requester":{"email":"a@b"}}"#, .badRequest, "missing_field"),
                (.post, "/api/v1/tickets", #"{"subject":"s"}"#, .badRequest, "missing_field"),
                (.post, "/api/v1/tickets", #"{"subject":"","requester":{"email":"a@b"}}"#, .badRequest, "invalid_field"),
                (.post, "/api/v1/tickets", #"{"subject":"s","requester":{"email":"nobody"}}"#, .badRequest, "invalid_field"),
                (.post, "/api/v1/tickets", #"{"subject":"s","requester":{"email":"a@b"},"priority":"asap"}"#, .badRequest, "invalid_field"),
                (.post, "/api/v1/tickets", #"{"subject":"s","requester":{"email":"a@b"},"channel":"fax"}"#, .badRequest, "invalid_field"),
                (.post, "/api/v1/tickets", #"{"subject":"s","requester":{"email":"a@b"},"fields":{"a":1}}"#, .badRequest, "invalid_field"),
                (.post, "/api/v1/tickets", "{\"subject\":\"" + String(repeating: "x", count: 1_600_000) + "\"}", .contentTooLarge, "body_too_large"),
                (.get, "/api/v1/tickets/424242", nil, .notFound, "unknown_ticket"),
                (.get, "/api/v1/tickets?colour=red", nil, .badRequest, "unknown_parameter"),
                (.get, "/api/v1/tickets?priority=asap", nil, .badRequest, "invalid_parameter"),
                (.get, "/api/v1/tickets?sla=late", nil, .badRequest, "invalid_parameter"),
                (.get, "/api/v1/tickets?limit=0", nil, .badRequest, "invalid_parameter"),
                (.get, "/api/v1/tickets?after=-1", nil, .badRequest, "invalid_parameter"),
            ]
            for (method, path, body, status, code) in cases {
                let reply = try await api.send(method, path, raw: body)
                #expect(reply.status == status, "\(method) \(path) \(body?.prefix(80) ?? ""): \(reply.text)")
                #expect(reply.errorCode == code, "\(method) \(path): \(reply.text)")
            }
            let tooLong = try await api.send(.post, "/api/v1/tickets", raw: #"{"subject":"s","requester":{"email":"a@b"}}"#,
                                             headers: [.idempotencyKey: String(repeating: "k", count: 201)])
            #expect(tooLong.status == .badRequest && tooLong.errorCode == "invalid_header")
            // Nothing above made a ticket.
            #expect(try await api.send(.get, "/api/v1/tickets").decode(TicketPage.self).tickets.isEmpty)
        }
    }

    @Test func commandsChangeTicketsOrSayWhyNot() async throws {
        try await InProcessApp.run { api in
            let t = try await api.create()
            let path = "/api/v1/tickets/\(t.id)"
            let updated = try await api.send(.patch, path, TicketUpdateRequest(priority: "urgent", status: "open", fields: ["floor": "2"]), headers: [.agent: "bob"])
            #expect(updated.status == .ok)
            let after = try updated.decode(TicketView.self)
            #expect(after.priority == .urgent && after.status == "open" && after.fields == ["floor": "2"])

            for (body, status, code) in [
                (#"{"status":"closed"}"#, HTTPResponse.Status.conflict, "transition_not_allowed"),
                (#"{"status":"open","priority":"bogus"}"#, .unprocessableContent, "invalid_field"),
                (#"{"status":"nowhere"}"#, .conflict, "unknown_status"),
                (#"{}"#, .unprocessableContent, "empty_update"),
                (#"{"colour":"red"}"#, .badRequest, "unknown_field"),
                (#"{"fields":["a"]}"#, .badRequest, "invalid_field"),
            ] {
                let reply = try await api.send(.patch, path, raw: body)
                #expect(reply.status == status && reply.errorCode == code, "\(body): \(reply.text)")
            }
            #expect(try await api.send(.get, path).decode(TicketView.self).status == "open")

            let comment = try await api.send(.post, path + "/comments", CommentRequest(body: "Looking", isPublic: true), headers: [.agent: "bob"])
            #expect(comment.status == .created)
            #expect(try comment.decode(TicketView.self).comments?.last?.authorName == "bob")
            for body in [#"{"body":""}"#, #"{"body":"x","author":"system"}"#, #"{"body":"x","public":"yes"}"#, #"{"text":"x"}"#] {
                #expect(try await api.send(.post, path + "/comments", raw: body).status == .badRequest, "\(body)")
            }

            let escalated = try await api.send(.post, path + "/escalate")
            #expect(try escalated.status == .ok && (escalated.decode(TicketView.self)).line == "L2")
            #expect(try await api.send(.post, path + "/escalate").errorCode == "no_line")
            let unknownLine = try await api.send(.post, path + "/deescalate", LineChangeRequest(to: "L9"))
            #expect(unknownLine.status == .conflict && unknownLine.errorCode == "unknown_line")
            #expect(try await api.send(.post, path + "/deescalate", LineChangeRequest(to: "L1")).decode(TicketView.self).line == "L1")

            _ = try await api.send(.put, "/api/v1/agents/bob", AgentRequest(line: "L1", capacity: 0))
            let assigned = try await api.send(.post, path + "/assign", AssignRequest(agent: "bob"))
            #expect(try assigned.status == .ok && (assigned.decode(TicketView.self)).assignee == "bob")
            let nobody = try await api.send(.post, path + "/assign", AssignRequest(agent: "nobody"))
            #expect(nobody.status == .conflict && nobody.errorCode == "unknown_agent")
            #expect(try await api.send(.post, path + "/assign", raw: #"{"agent":""}"#).errorCode == "invalid_field")
            #expect(try await api.send(.post, path + "/assign", raw: #"{"agent":null}"#).decode(TicketView.self).assignee == nil)

            let macro = try await api.send(.post, path + "/macros/ask", headers: [.agent: "carol"])
            #expect(try macro.status == .ok && (macro.decode(TicketView.self)).status == "pending")
            // The macro's public comment is carol's reply; the audit names her and the macro.
            let replied = try macro.decode(TicketView.self).comments?.last
            #expect(replied?.author == .agent && replied?.authorName == "carol" && replied?.body == "Please send logs")
            let applied = try await api.send(.get, path + "/audit").decode(AuditView.self).entries
            #expect(applied.contains { $0.cause == CauseView(kind: .agent, name: "carol") && $0.change.contains("macro 'ask' applied by agent:carol") })
            #expect(applied.contains { $0.cause == CauseView(kind: .macro, name: "ask") && $0.change.hasPrefix("status:") })
            let noMacro = try await api.send(.post, path + "/macros/nothing")
            #expect(noMacro.status == .notFound && noMacro.errorCode == "unknown_macro")

            let audit = try await api.send(.get, path + "/audit").decode(AuditView.self)
            #expect(audit.ticket == t.id && audit.entries.contains { $0.cause == CauseView(kind: .agent, name: "bob") })
            #expect(try await api.send(.get, "/api/v1/tickets/999/audit").errorCode == "unknown_ticket")
            #expect(try await api.send(.post, "/api/v1/tickets/999/comments", CommentRequest(body: "x")).errorCode == "unknown_ticket")

            _ = try await api.send(.patch, path, TicketUpdateRequest(status: "solved"))
            #expect(try await api.send(.post, path + "/assign", AssignRequest(agent: "bob")).status == .conflict)
        }
    }

    @Test func keyedCommandsRunOnceAndKeysNameOneRequest() async throws {
        try await InProcessApp.run { api in
            let t = try await api.create()
            let path = "/api/v1/tickets/\(t.id)/comments"
            let first = try await api.send(.post, path, raw: #"{"body":"hi","public":true}"#, headers: [.idempotencyKey: "c1"])
            #expect(first.status == .created)
            // The same request, keys in another order: answered, not run again.
            let again = try await api.send(.post, path, raw: #"{ "public": true, "body": "hi" }"#, headers: [.idempotencyKey: "c1"])
            #expect(again.status == .ok && again.headers[.idempotentReplayed] == "true")
            #expect(try again.decode(TicketView.self).comments?.count == 1)
            let other = try await api.send(.post, path, raw: #"{"body":"bye"}"#, headers: [.idempotencyKey: "c1"])
            #expect(other.status == .unprocessableContent && other.errorCode == "idempotency_key_reused")
        }
    }

    @Test func agentsAreRegisteredAndWorkTheirTickets() async throws {
        try await InProcessApp.run { api in
            let put = try await api.send(.put, "/api/v1/agents/bob", AgentRequest(name: "Bob", line: "L1", capacity: 1, presence: .online))
            #expect(put.status == .created)
            #expect(try put.decode(AgentView.self) == AgentView(id: "bob", name: "Bob", line: "L1", queues: [], skills: [], capacity: 1, presence: .online, load: 0))
            #expect(try await api.send(.put, "/api/v1/agents/bob", AgentRequest(skills: ["hw"])).status == .ok)
            let t = try await api.create()
            #expect(try await api.send(.get, "/api/v1/agents/bob").decode(AgentView.self).load == 1)
            let list = try await api.send(.get, "/api/v1/agents").decode(AgentList.self)
            #expect(list.agents.map(\.id) == ["bob"] && list.agents[0].skills == ["hw"])
            let tickets = try await api.send(.get, "/api/v1/agents/bob/tickets").decode(AgentTickets.self)
            #expect(tickets.agent == "bob" && tickets.tickets.map(\.id) == [t.id])
            let away = try await api.send(.put, "/api/v1/agents/bob/presence", PresenceRequest(presence: .away))
            #expect(try away.status == .ok && (away.decode(AgentView.self)).presence == .away)

            for (method, path, body, status, code) in [
                (HTTPRequest.Method.put, "/api/v1/agents/ann", #"{"name":"Ann"}"#, HTTPResponse.Status.notFound, "unknown_agent"),
                (.put, "/api/v1/agents/ann", #"{"line":"L9"}"#, .conflict, "unknown_line"),
                (.put, "/api/v1/agents/ann", #"{"line":"L1","capacity":true}"#, .badRequest, "invalid_field"),
                (.put, "/api/v1/agents/ann", #"{"line":"L1","capacity":-1}"#, .badRequest, "invalid_field"),
                (.put, "/api/v1/agents/ann", #"{"line":"L1","presence":"asleep"}"#, .badRequest, "invalid_field"),
                (.put, "/api/v1/agents/ann", #"{"line":"L1","hat":"red"}"#, .badRequest, "unknown_field"),
                (.get, "/api/v1/agents/ann", nil, .notFound, "unknown_agent"),
                (.get, "/api/v1/agents/ann/tickets", nil, .notFound, "unknown_agent"),
                (.put, "/api/v1/agents/ann/presence", #"{"presence":"online"}"#, .notFound, "unknown_agent"),
                (.put, "/api/v1/agents/bob/presence", #"{"presence":"asleep"}"#, .badRequest, "invalid_field"),
                (.put, "/api/v1/agents/bob/presence", #"{}"#, .badRequest, "missing_field"),
            ] {
                let reply = try await api.send(method, path, raw: body)
                #expect(reply.status == status && reply.errorCode == code, "\(method) \(path) \(body ?? ""): \(reply.text)")
            }
            // A capacity of 0 is a number like any other.
            #expect(try await api.send(.put, "/api/v1/agents/zed", AgentRequest(line: "L1", capacity: 0)).decode(AgentView.self).capacity == 0)
        }
    }

    @Test func queueCountsAreExactAtAnySizeAndContentsArePaged() async throws {
        try await InProcessApp.run { api in
            // More than the thousand a queue view used to count up to.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<8 {
                    group.addTask { for i in 0..<132 { _ = try await api.create("t\(lane)-\(i)") } }
                }
                try await group.waitForAll()
            }
            let queues = try await api.send(.get, "/api/v1/queues").decode(QueueList.self)
            #expect(queues.queues.map(\.name) == ["first-line", "second-line"])
            #expect(queues.queues[0].waiting == 1056 && queues.queues[0].line == "L1" && queues.queues[1].waiting == 0)
            let first = try await api.send(.get, "/api/v1/queues/first-line?limit=1000").decode(QueueView.self)
            #expect(first.waitingCount == 1056 && first.waiting.count == 1000 && first.nextOffset == 1000)
            let rest = try await api.send(.get, "/api/v1/queues/first-line?offset=1000&limit=1000").decode(QueueView.self)
            #expect(rest.waiting.count == 56 && rest.nextOffset == nil)
            #expect(Set(first.waiting.map(\.ticket) + rest.waiting.map(\.ticket)).count == 1056)
            #expect(try await api.send(.get, "/api/v1/queues/nowhere").errorCode == "unknown_queue")
            #expect(try await api.send(.get, "/api/v1/queues/first-line?limit=5000").errorCode == "invalid_parameter")
            #expect(try await api.send(.get, "/api/v1/queues/first-line?offset=-1").errorCode == "invalid_parameter")
            #expect(try await api.send(.get, "/api/v1/queues/first-line?page=2").errorCode == "unknown_parameter")
        }
    }

    @Test func theWorkflowIsReadAndReplacedOnlyWhenItChecks() async throws {
        try await InProcessApp.run { api in
            let wf = try await api.send(.get, "/api/v1/workflow").decode(WorkflowView.self)
            #expect(wf.label == "test@1" && wf.lines == [LineView(name: "L1", queue: "first-line"), LineView(name: "L2", queue: "second-line")])
            let bad = try await api.send(.put, "/api/v1/workflow", raw: "workflow: x\nlines: [{name: L1, queue: q}]\nstatuses: [new]\ntriggers: [{name: t, on: nope}]\n")
            #expect(bad.status == .unprocessableContent && bad.errorCode == "invalid_workflow")
            #expect(try bad.decode(ErrorBody.self).error.details?.isEmpty == false)
            let good = try await api.send(.put, "/api/v1/workflow", raw: TestNodesWorkflowV2.text)
            #expect(try good.status == .ok && (good.decode(WorkflowReplaced.self)).label == "test@2")
            #expect(try await api.send(.get, "/api/v1/workflow").decode(WorkflowView.self).source == TestNodesWorkflowV2.text)
        }
    }

    /// Issue 15: "why" over the API explains each step with the rules considered and the
    /// values their conditions saw; `?rule=` narrows it to one rule.
    @Test func whyExplainsEachStepWithTheValuesConditionsSaw() async throws {
        let workflow = TestNodes.workflow + """

        triggers:
          - {name: urgent-to-l2, on: ticket.created, if: {priority: urgent}, then: [{escalate: next_line}]}
        """
        try await InProcessApp.run(workflow: workflow) { api in
            let t = try await api.create(priority: .normal)
            _ = try await api.send(.post, "/api/v1/tickets/\(t.id)/comments", CommentRequest(body: "On it"), headers: [.agent: "bob"])
            let why = try await api.send(.get, "/api/v1/tickets/\(t.id)/why").decode(TicketExplanation.self)
            #expect(why.ticket == t.id && why.steps.count == 2)
            let created = try #require(why.steps.first)
            #expect(created.raised == ["ticket.created"])
            let trigger = try #require(created.rules.first { $0.name == "urgent-to-l2" })
            #expect(trigger.outcome == .notFired && trigger.condition?.text == "priority is urgent (priority: normal)")
            #expect(created.rules.contains { $0.name == "p" && $0.outcome == .applies && $0.condition == nil })
            #expect(why.steps[1].cause == "agent:bob" && why.steps[1].happened == ["public comment by agent bob"])
            let onlyTrigger = try await api.send(.get, "/api/v1/tickets/\(t.id)/why?rule=urgent-to-l2").decode(TicketExplanation.self)
            #expect(onlyTrigger.steps.count == 1 && onlyTrigger.steps[0].rules.map(\.name) == ["urgent-to-l2"])
            #expect(try await api.send(.get, "/api/v1/tickets/\(t.id)/why?rule=").errorCode == "invalid_parameter")
            #expect(try await api.send(.get, "/api/v1/tickets/\(t.id)/why?why=1").errorCode == "unknown_parameter")
            #expect(try await api.send(.get, "/api/v1/tickets/999/why").errorCode == "unknown_ticket")
        }
    }

    /// Issue 15: the "billion laughs" sent as a workflow is refused with a diagnostic at once,
    /// and the node keeps answering meanwhile (before the budget it grew past 4 GB).
    @Test func aWorkflowOverTheYAMLBudgetIsRefusedAndTheNodeKeepsServing() async throws {
        let laughs = (["workflow: laughs", #"a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]"#]
            + zip("bcdefghi", "abcdefgh").map { "\($0): &\($0) [" + Array(repeating: "*\($1)", count: 9).joined(separator: ",") + "]" })
            .joined(separator: "\n")
        try await InProcessApp.run { api in
            async let refused = api.send(.put, "/api/v1/workflow", raw: laughs)
            let health = try await api.send(.get, "/healthz")
            #expect(health.status == .ok)
            let reply = try await refused
            #expect(reply.status == .unprocessableContent && reply.errorCode == "invalid_workflow")
            let details = try reply.decode(ErrorBody.self).error.details ?? []
            #expect(details.count == 1 && details.first?.contains("[yaml-limit]") == true, "\(details)")
            #expect(try await api.send(.get, "/api/v1/workflow").decode(WorkflowView.self).label == "test@1")
        }
    }

    @Test func healthMetricsDashboardAndWrongRoutes() async throws {
        try await InProcessApp.run { api in
            let health = try await api.send(.get, "/healthz")
            #expect(try health.status == .ok && (health.decode(Health.self)) == Health(status: .ok, workflow: "test@1"))
            // A single node is ready once started; /readyz needs no token either.
            let ready = try await api.with(token: nil).send(.get, "/readyz")
            #expect(try ready.status == .ok && ready.decode(Readiness.self) == Readiness(status: .ready))
            _ = try await api.create()
            let metrics = try await api.send(.get, "/metrics")
            #expect(metrics.status == .ok && metrics.text.contains("ticketflow_tickets{status=\"new\"} 1"))
            let page = try await api.send(.get, "/")
            #expect(page.status == .ok && page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(try await api.send(.get, "/api/v1/cluster").errorCode == "not_clustered")
            #expect(try await api.send(.get, "/api/v1/cluster/metrics").errorCode == "not_clustered")
            let unknown = try await api.send(.get, "/api/v1/nothing")
            #expect(unknown.status == .notFound && unknown.errorCode == "unknown_route")
            let wrong = try await api.send(.delete, "/api/v1/tickets/1")
            #expect(wrong.status == .methodNotAllowed && wrong.errorCode == "method_not_allowed")
            #expect(wrong.headers[.allow] == "GET, PATCH")
            #expect(try await api.send(.post, "/api/v1/queues").headers[.allow] == "GET")
        }
    }
}

enum TestNodesWorkflowV2 {
    static let text = """
    workflow: test
    version: 2
    statuses: [new, open, pending, solved, closed]
    lines: [{name: L1, queue: first-line}, {name: L2, queue: second-line}]
    """
}
