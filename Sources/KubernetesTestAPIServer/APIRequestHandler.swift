internal import Foundation
internal import NIOCore
internal import NIOHTTP1
internal import NIOSSL

/// Serves one HTTP/1.1 connection of the test API server: authentication, routing, and the
/// chunked stream of a watch.
final class APIRequestHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  private let server: KubernetesTestAPIServer
  private var head: HTTPRequestHead?
  private var body = ByteBuffer()
  /// The watch this connection streams, if any.
  private var watch: UUID?
  private var watchTimers: [Scheduled<Void>] = []
  private var bookmarkTask: RepeatedTask?

  init(server: KubernetesTestAPIServer) { self.server = server }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head):
      self.head = head
      body.clear()
    case .body(var chunk):
      body.writeBuffer(&chunk)
    case .end:
      guard let head else { return }
      self.head = nil
      handle(head, context: context)
    }
  }

  func channelInactive(context: ChannelHandlerContext) {
    endWatch()
    context.fireChannelInactive()
  }

  // MARK: - Routing

  private func handle(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
    server.log("\(head.method) \(head.uri)")
    guard authenticated(head, context: context) else {
      return respond(context, head, .unauthorized, APIDocuments.status(code: 401, reason: "Unauthorized", message: "Unauthorized"))
    }
    let components = URLComponents(string: head.uri)
    let path = (components?.path ?? head.uri).split(separator: "/").map(String.init)
    var query: [String: String] = [:]
    for item in components?.queryItems ?? [] { query[item.name] = item.value ?? "" }

    let collection = ["apis", APIDocuments.group, APIDocuments.version, "namespaces"]
    if path.count == 6 || path.count == 7, Array(path[0..<4]) == collection, path[5] == APIDocuments.plural {
      let namespace = path[4]
      switch (head.method, path.count == 7 ? path[6] : nil) {
      case (.GET, nil):
        if ["true", "1"].contains(query["watch"]?.lowercased()) {
          startWatch(context, head, namespace: namespace, query: query)
        } else {
          list(context, head, namespace: namespace, query: query)
        }
      case (.POST, nil): create(context, head, namespace: namespace)
      case (.GET, let name?):
        guard let object = server.store.get(namespace: namespace, name: name) else { return notFound(context, head, name) }
        respond(context, head, .ok, json: object)
      case (.DELETE, let name?): delete(context, head, namespace: namespace, name: name)
      case (.PUT, let name?), (.PATCH, let name?): update(context, head, namespace: namespace, name: name)
      default: notAllowed(context, head)
      }
      return
    }
    let documents: [[String]: [String: Any]] = [
      ["api"]: APIDocuments.coreVersions,
      ["api", "v1"]: APIDocuments.coreResources,
      ["apis"]: APIDocuments.apiGroupList,
      ["apis", APIDocuments.group]: APIDocuments.apiGroup,
      ["apis", APIDocuments.group, APIDocuments.version]: APIDocuments.resources,
      ["version"]: APIDocuments.version_,
    ]
    if head.method == .GET, let document = documents[path] {
      return respond(context, head, .ok, document)
    }
    respond(
      context, head, .notFound,
      APIDocuments.status(code: 404, reason: "NotFound", message: "the server could not find the requested resource"))
  }

  /// A valid bearer token, or a client certificate the test CA issued (TLS checked it).
  private func authenticated(_ head: HTTPRequestHead, context: ChannelHandlerContext) -> Bool {
    if let value = head.headers.first(name: "Authorization"), value.hasPrefix("Bearer "),
      server.options.tokens.contains(String(value.dropFirst("Bearer ".count)))
    {
      return true
    }
    let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
    return tls?.peerCertificate != nil
  }

  // MARK: - Verbs

  private func list(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, namespace: String, query: [String: String]) {
    let (items, version) = server.store.list(namespace: namespace)
    let selected = items.filter { matches($0, fieldSelector: query["fieldSelector"]) }
    var list = Data(#"{"apiVersion":"\#(APIDocuments.groupVersion)","kind":"SignalingEnvelopeList","#.utf8)
    list += Data(#""metadata":{"resourceVersion":"\#(version)"},"items":["#.utf8)
    list += Data(selected.joined(separator: Data(",".utf8)))
    list += Data("]}".utf8)
    respond(context, head, .ok, json: list)
  }

  private func create(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, namespace: String) {
    guard var object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] else {
      return respond(context, head, .badRequest, APIDocuments.status(code: 400, reason: "BadRequest", message: "the body is not a JSON object"))
    }
    guard object["apiVersion"] as? String == APIDocuments.groupVersion, object["kind"] as? String == APIDocuments.kind else {
      return respond(
        context, head, .badRequest,
        APIDocuments.status(
          code: 400, reason: "BadRequest",
          message: "the API version in the data (\(object["apiVersion"] ?? "")) does not match the expected API version (\(APIDocuments.groupVersion))"))
    }
    var metadata = object["metadata"] as? [String: Any] ?? [:]
    if let given = metadata["namespace"] as? String, !given.isEmpty, given != namespace {
      return respond(
        context, head, .badRequest,
        APIDocuments.status(
          code: 400, reason: "BadRequest",
          message: "the namespace of the provided object does not match the namespace sent on the request"))
    }
    var name = metadata["name"] as? String ?? ""
    if name.isEmpty, let prefix = metadata["generateName"] as? String, !prefix.isEmpty {
      let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
      name = prefix + String((0..<5).map { _ in alphabet.randomElement()! })
    }
    var causes = APIDocuments.validate(object)
    if name.isEmpty {
      causes.insert(.init(field: "metadata.name", reason: "FieldValueRequired", message: "Required value: name or generateName is required"), at: 0)
    }
    guard causes.isEmpty else { return respond(context, head, .unprocessableEntity, APIDocuments.invalid(name, causes)) }
    guard server.options.namespaces.contains(namespace) else {
      return respond(
        context, head, .notFound,
        APIDocuments.status(
          code: 404, reason: "NotFound", message: "namespaces \"\(namespace)\" not found",
          details: ["name": namespace, "kind": "namespaces"]))
    }
    let created = ISO8601DateFormatter().string(from: server.now())
    do {
      let stored = try server.store.create(namespace: namespace, name: name) { version in
        metadata["name"] = name
        metadata["namespace"] = namespace
        metadata["uid"] = UUID().uuidString.lowercased()
        metadata["resourceVersion"] = String(version)
        metadata["creationTimestamp"] = created
        metadata["generation"] = 1
        object["metadata"] = metadata
        return APIDocuments.json(object)
      }
      respond(context, head, .created, json: stored)
    } catch {
      respond(
        context, head, .conflict,
        APIDocuments.status(
          code: 409, reason: "AlreadyExists", message: "\(APIDocuments.plural).\(APIDocuments.group) \"\(name)\" already exists"))
    }
  }

  /// `PUT` (the whole object, with an optional resourceVersion precondition) and `PATCH` with a
  /// JSON merge patch (RFC 7386), which kubectl sends for custom resources. Identity and
  /// creation fields stay the server's; the result must still satisfy the schema.
  private func update(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, namespace: String, name: String) {
    let patch = head.method == .PATCH
    if patch, head.headers.first(name: "Content-Type")?.hasPrefix("application/merge-patch+json") != true {
      return respond(
        context, head, .unsupportedMediaType,
        APIDocuments.status(
          code: 415, reason: "UnsupportedMediaType",
          message: "the body of the request was in an unknown format - accepted media types include: application/merge-patch+json"))
    }
    guard let body = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] else {
      return respond(context, head, .badRequest, APIDocuments.status(code: 400, reason: "BadRequest", message: "the body is not a JSON object"))
    }
    /// Why `change` refused an update.
    enum Refusal: Error {
      case stale
      case invalid([APIDocuments.Cause])
    }
    do {
      let updated = try server.store.update(namespace: namespace, name: name) { version, json in
        let stored = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] ?? [:]
        let storedMetadata = stored["metadata"] as? [String: Any] ?? [:]
        if let precondition = (body["metadata"] as? [String: Any])?["resourceVersion"] as? String,
          precondition != storedMetadata["resourceVersion"] as? String
        {
          throw Refusal.stale
        }
        var object = patch ? Self.mergePatch(stored, body) as? [String: Any] ?? [:] : body
        let causes = APIDocuments.validate(object)
        guard causes.isEmpty else { throw Refusal.invalid(causes) }
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        for key in ["name", "namespace", "uid", "creationTimestamp", "generateName"] { metadata[key] = storedMetadata[key] }
        metadata["resourceVersion"] = String(version)
        metadata["generation"] = (storedMetadata["generation"] as? Int ?? 1) + 1
        object["metadata"] = metadata
        object["apiVersion"] = APIDocuments.groupVersion
        object["kind"] = APIDocuments.kind
        return APIDocuments.json(object)
      }
      respond(context, head, .ok, json: updated)
    } catch Refusal.invalid(let causes) {
      respond(context, head, .unprocessableEntity, APIDocuments.invalid(name, causes))
    } catch Refusal.stale {
      respond(
        context, head, .conflict,
        APIDocuments.status(
          code: 409, reason: "Conflict",
          message: "Operation cannot be fulfilled on \(APIDocuments.plural).\(APIDocuments.group) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again"))
    } catch {
      notFound(context, head, name)
    }
  }

  /// RFC 7386: objects merge key by key, `null` removes, anything else replaces.
  static func mergePatch(_ target: Any, _ patch: Any) -> Any {
    guard let patch = patch as? [String: Any] else { return patch }
    var result = target as? [String: Any] ?? [:]
    for (key, value) in patch {
      if value is NSNull { result[key] = nil } else { result[key] = mergePatch(result[key] as Any, value) }
    }
    return result
  }

  private func delete(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, namespace: String, name: String) {
    do {
      let deleted = try server.store.delete(namespace: namespace, name: name) { version, json in
        guard var object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else { return json }
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        metadata["resourceVersion"] = String(version)
        object["metadata"] = metadata
        return APIDocuments.json(object)
      }
      respond(context, head, .ok, json: deleted)
    } catch {
      notFound(context, head, name)
    }
  }

  private func notFound(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ name: String) {
    respond(
      context, head, .notFound,
      APIDocuments.status(
        code: 404, reason: "NotFound", message: "\(APIDocuments.plural).\(APIDocuments.group) \"\(name)\" not found",
        details: ["name": name, "group": APIDocuments.group, "kind": APIDocuments.plural]))
  }

  private func notAllowed(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
    respond(
      context, head, .methodNotAllowed,
      APIDocuments.status(code: 405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource"))
  }

  /// `fieldSelector=metadata.name=NAME` (what `kubectl delete --wait` lists with); other
  /// selectors select everything.
  private func matches(_ json: Data, fieldSelector: String?) -> Bool {
    guard let selector = fieldSelector, selector.hasPrefix("metadata.name=") else { return true }
    let wanted = String(selector.dropFirst("metadata.name=".count))
    let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any]
    return (object?["metadata"] as? [String: Any])?["name"] as? String == wanted
  }

  // MARK: - Watch

  private func startWatch(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, namespace: String, query: [String: String]) {
    var from: Int?
    if let text = query["resourceVersion"], !text.isEmpty, text != "0" {
      guard let version = Int(text) else {
        return respond(
          context, head, .badRequest,
          APIDocuments.status(code: 400, reason: "BadRequest", message: "invalid resource version \"\(text)\""))
      }
      from = version
    }
    var headers = HTTPHeaders([("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])
    headers.add(name: "Cache-Control", value: "no-cache, private")
    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
    context.flush()

    let loop = context.eventLoop
    let bound = NIOLoopBound(context, eventLoop: loop)
    let handler = NIOLoopBound(self, eventLoop: loop)
    let selector = query["fieldSelector"]
    let watcher = EnvelopeStore.Watcher(namespace: namespace) { event in
      loop.execute {
        guard handler.value.watch != nil else { return }
        if event.type != "BOOKMARK" && !handler.value.matches(event.object, fieldSelector: selector) { return }
        handler.value.writeEvent(type: event.type, object: event.object, context: bound.value)
      }
    }
    let id: UUID
    do {
      id = try server.store.watch(namespace: namespace, from: from, watcher)
    } catch EnvelopeStore.Failure.expired(let requested, let oldest) {
      let status = APIDocuments.status(
        code: 410, reason: "Expired", message: "too old resource version: \(requested) (\(oldest))")
      writeEvent(type: "ERROR", object: APIDocuments.json(status), context: context)
      context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
      return
    } catch {
      context.close(promise: nil)
      return
    }
    watch = id
    server.opened(watch: id, on: context.channel)
    if query["allowWatchBookmarks"] == "true" {
      let interval = TimeAmount.nanoseconds(Int64(server.options.bookmarkInterval.components.seconds) * 1_000_000_000
        + server.options.bookmarkInterval.components.attoseconds / 1_000_000_000)
      let store = server.store
      bookmarkTask = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
        store.bookmark(id)
      }
    }
    if let seconds = query["timeoutSeconds"].flatMap(Int.init), seconds > 0 {
      watchTimers.append(loop.scheduleTask(in: .seconds(Int64(seconds))) {
        handler.value.finishWatch(context: bound.value)
      })
    }
  }

  private func writeEvent(type: String, object: Data, context: ChannelHandlerContext) {
    var line = context.channel.allocator.buffer(capacity: object.count + 32)
    line.writeString(#"{"type":"\#(type)","object":"#)
    line.writeBytes(object)
    line.writeString("}\n")
    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(line))), promise: nil)
  }

  /// Ends the watch's response as the API server does after `timeoutSeconds`.
  private func finishWatch(context: ChannelHandlerContext) {
    guard watch != nil else { return }
    endWatch()
    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
  }

  private func endWatch() {
    guard let id = watch else { return }
    watch = nil
    server.store.unwatch(id)
    server.closed(watch: id)
    bookmarkTask?.cancel()
    bookmarkTask = nil
    for timer in watchTimers { timer.cancel() }
    watchTimers = []
  }

  // MARK: - Answers

  private func respond(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ status: HTTPResponseStatus, _ document: [String: Any]) {
    respond(context, head, status, json: APIDocuments.json(document))
  }

  private func respond(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ status: HTTPResponseStatus, json: Data) {
    var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(json.count)")])
    if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: json)))), promise: nil)
    let written = context.eventLoop.makePromise(of: Void.self)
    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
    if !head.isKeepAlive {
      let channel = context.channel
      written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }
  }
}
