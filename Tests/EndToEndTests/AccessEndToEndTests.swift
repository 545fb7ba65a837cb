import Foundation
import Testing
import TicketflowTesting

/// End-to-end: how a real node treats its first start, its tokens and its data directory.
@Suite(.serialized, .timeLimit(.minutes(3))) struct AccessEndToEndTests {
    static let workflow = "workflows/b2c-support.yaml"

    @Test func aFreshDirectoryNeedsItsAdminTokenAndOneNodeHoldsIt() async throws {
        let dir = try TestSupport.temporaryDirectory("tf-e2e-access")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/data"
        // No token and no terminal to show one on: refused, nothing created.
        do {
            _ = try ServerProcess(data: data, workflow: Self.workflow, environment: ["TICKETFLOW_ADMIN_TOKEN": nil])
            Issue.record("a fresh node started with no admin token and no terminal")
        } catch let failure as ServerProcess.Failure {
            #expect(failure.description.contains("set TICKETFLOW_ADMIN_TOKEN"), "\(failure)")
        }
        // A token that is too short is refused before anything is opened.
        #expect(throws: ServerProcess.Failure.self) {
            _ = try ServerProcess(data: data, workflow: Self.workflow, environment: ["TICKETFLOW_ADMIN_TOKEN": "short"])
        }

        let token = "first-admin-token-\(UUID().uuidString)"
        var node = try ServerProcess(data: data, workflow: Self.workflow, environment: ["TICKETFLOW_ADMIN_TOKEN": token])
        var admin = HTTPClient(node.baseURL, token: token)
        #expect(try await HTTPClient(node.baseURL, token: nil).get("/healthz").status == 200)
        #expect(try await HTTPClient(node.baseURL, token: nil).get("/api/v1/tickets").status == 401)
        #expect(try await HTTPClient(node.baseURL, token: "tf_wrong").get("/api/v1/tickets").status == 401)
        #expect(try await HTTPClient(node.baseURL, token: nil).get("/metrics").status == 401)
        #expect(try await admin.get("/metrics").status == 200)
        let made = try await admin.post("/api/v1/users", ["name": "Ann", "email": "ann@example.com", "role": "agent", "line": "L1"])
        #expect(made.status == 201)
        let annToken = try #require(made.json?["token"] as? String)
        #expect(try await HTTPClient(node.baseURL, token: annToken).get("/api/v1/queues").status == 200)

        // A second process on the same directory stops at once and says who holds it.
        do {
            _ = try ServerProcess(data: data, workflow: Self.workflow, environment: ["TICKETFLOW_ADMIN_TOKEN": token])
            Issue.record("a second node started on the same data directory")
        } catch let failure as ServerProcess.Failure {
            #expect(failure.description.contains("another ticketflow process (pid \(node.pid))"), "\(failure)")
        }

        // After a crash the lock is gone with the process; without the environment the
        // accounts made before still sign in, and no token was ever printed.
        let printed = node.log
        node.kill()
        node = try ServerProcess(data: data, workflow: Self.workflow, environment: ["TICKETFLOW_ADMIN_TOKEN": nil])
        admin = HTTPClient(node.baseURL, token: token)
        #expect(try await admin.get("/api/v1/users").status == 200)
        #expect(try await HTTPClient(node.baseURL, token: annToken).get("/api/v1/queues").status == 200)
        for output in [printed, node.log] { #expect(!output.contains(token) && !output.contains(annToken)) }
        // Nothing but hashes on disk: neither token is in the SQLite files.
        for file in try FileManager.default.contentsOfDirectory(atPath: data) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: data + "/" + file))
            #expect(bytes.range(of: Data(token.utf8)) == nil && bytes.range(of: Data(annToken.utf8)) == nil, "\(file)")
        }
        let log = try #require(try await admin.get("/api/v1/security-log").json?["entries"] as? [[String: Any]])
        #expect(log.compactMap { $0["action"] as? String } == ["user_created", "admin_created"])
        #expect(log.first?["actor"] as? String == "admin" && log.first?["address"] as? String == "127.0.0.1")
        node.stop()
    }
}

/// Connections that hold a node's resources without using them are closed.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ConnectionLimitTests {
    /// A raw TCP connection to the node, for clients no HTTP library would be.
    struct ConnectFailed: Error { var errno: Int32 }

    final class RawConnection {
        let fd: Int32
        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard status == 0 else { close(fd); throw ConnectFailed(errno: errno) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        deinit { close(fd) }

        func send(_ text: String) { _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }

        /// Sends a health check and reads its answer's status line: the connection is served.
        func isServed() -> Bool {
            send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n > 0 && String(decoding: buffer.prefix(n), as: UTF8.self).hasPrefix("HTTP/1.1 200")
        }

        /// Whether the node closed the connection (reads end of stream within 5 s).
        func isClosedByPeer() -> Bool {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n == 0 { return true }
                if n < 0 { return errno == ECONNRESET }
            }
        }
    }

    @Test func idleSlowAndSurplusConnectionsAreClosed() async throws {
        let dir = try TestSupport.temporaryDirectory("tf-e2e-conn")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let node = try ServerProcess(data: dir + "/data", workflow: "workflows/b2c-support.yaml",
                                     extra: ["--connections-per-address", "4", "--request-head-timeout", "3", "--request-timeout", "2"])
        defer { node.stop() }
        let port = Int(node.baseURL.split(separator: ":").last!)!
        // Four connections from one address are held; a fifth is closed at once.
        var held = try (0..<4).map { _ in try RawConnection(port: port) }
        #expect(held.allSatisfy { $0.isServed() })   // each is set up and counted; now idle
        let surplus = try RawConnection(port: port)
        let started = Date()
        // At once: well before the 3 s in which an admitted idle connection would be closed.
        #expect(surplus.isClosedByPeer() && Date().timeIntervalSince(started) < 2, "the fifth connection was not closed at once")
        // The four, idle, are closed after the head timeout; then new ones are admitted.
        #expect(held.allSatisfy { $0.isClosedByPeer() })
        held.removeAll()
        try await Task.sleep(for: .milliseconds(200))
        // A request head trickled slower than the timeout allows is cut off.
        let slow = try RawConnection(port: port)
        slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
        let slowStart = Date()
        #expect(slow.isClosedByPeer() && Date().timeIntervalSince(slowStart) < 5)
        // A body that never completes is cut off after the request timeout.
        let trickle = try RawConnection(port: port)
        trickle.send("POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(TestSupport.adminToken)\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"subject\":")
        let trickleStart = Date()
        #expect(trickle.isClosedByPeer() && Date().timeIntervalSince(trickleStart) < 4)
        // Ordinary clients are served throughout.
        #expect(try await HTTPClient(node.baseURL).get("/api/v1/queues").status == 200)
    }
}
