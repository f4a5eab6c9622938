// Copyright Actionflow authors. Apache-2.0.
// The Webtask programming models, appended after an extension's own code (see `wrap.rs`). It turns
// what the code exported into the runtime's handler: `ctx` (and `req`/`res` for the raw model) from
// the event, and the answer handed back as one recorded `api` call, `webtask:response`.
function __wt_handler(exported) {
  "use strict";
  let fn = exported;
  if (typeof fn !== "function" && fn !== null && typeof fn === "object" && typeof fn.default === "function") fn = fn.default;
  if (typeof fn !== "function") {
    throw new SyntaxError("the code must export a function: module.exports = function (ctx, cb) { ... }");
  }
  const isAsync = fn.constructor !== undefined && fn.constructor.name === "AsyncFunction";
  const arity = fn.length;
  let model;
  if (arity === 3) model = "raw";
  else if (arity === 2) model = "ctx_cb";
  else if (arity === 1) model = isAsync ? "async" : "cb";
  else if (arity === 0 && isAsync) model = "async";
  else {
    throw new SyntaxError(
      `the exported function takes ${arity} arguments; a webtask is function (cb), function (ctx, cb) ` +
        "or function (ctx, req, res), or an async function (ctx) that returns its result",
    );
  }

  const JSON_TYPE = { "content-type": "application/json" };
  const copy = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

  function json(status, value, source, generic) {
    return { status, headers: JSON_TYPE, body: JSON.stringify(value), encoding: "utf8", source, generic: !!generic };
  }

  function describeError(err) {
    if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
    return { name: "Error", message: String(err), stack: undefined };
  }

  function statusOf(err) {
    const s = err !== null && typeof err === "object" ? err.statusCode : undefined;
    return Number.isInteger(s) && s >= 100 && s <= 599 ? s : 400;
  }

  // cb(err, data) of the callback models: 200 with the value as JSON, 400 (or err.statusCode) with
  // the error; the generic compiler's envelope instead when it is on.
  function resultOf(err, data, generic) {
    if (err) {
      const status = statusOf(err);
      const d = describeError(err);
      if (generic) {
        // The envelope is the answer: HTTP 200 whatever the code said, its status inside.
        return json(200, { statusCode: status, headers: {}, status: "error", data: { message: d.message, name: d.name, statusCode: status } }, "compiler", true);
      }
      let details;
      try { details = String(err); } catch { details = d.message; }
      return json(status, { code: status, error: "Script returned an error.", details, name: d.name, message: d.message, stack: d.stack }, "webtask");
    }
    let text;
    try {
      text = JSON.stringify(data || {});
    } catch (e) {
      return json(400, { code: 400, error: "Script returned a result that cannot be serialized.", message: describeError(e).message }, "webtask");
    }
    if (text === undefined) text = "{}";
    if (generic) {
      return { status: 200, headers: JSON_TYPE, body: `{"statusCode":200,"headers":{},"status":"success","data":${text}}`, encoding: "utf8", source: "compiler", generic: true };
    }
    return { status: 200, headers: JSON_TYPE, body: text, encoding: "utf8", source: "webtask" };
  }

  function parseBody(request) {
    const type = String(request.headers["content-type"] || "").toLowerCase();
    const text = request.body;
    if (typeof text !== "string" || text.length === 0) return undefined;
    try {
      if (type.includes("application/json")) return JSON.parse(text);
      if (type.includes("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(text));
    } catch {
      // Webtasks ignore a body that does not parse.
    }
    return undefined;
  }

  function storageError(status, body) {
    const message = body && body.error && body.error.message ? body.error.message : `storage answered ${status}`;
    const e = new Error(message);
    e.code = status;
    e.statusCode = status;
    return e;
  }

  // `ctx.storage`: one JSON document, read and written over the server's storage API with this
  // execution's storage token; a write based on a stale read fails with `code: 409`.
  function makeStorage(s) {
    let etag;
    const headers = { authorization: `Bearer ${s.token}` };
    return {
      get(options, cb) {
        if (typeof options === "function") cb = options;
        if (typeof cb !== "function") throw new TypeError("ctx.storage.get(cb): cb must be a function");
        fetch(s.url, { headers })
          .then(async (r) => {
            const body = await r.json();
            if (!r.ok) throw storageError(r.status, body);
            etag = body.etag;
            return body.data === null ? null : JSON.parse(body.data);
          })
          .then((v) => cb(null, v), (e) => cb(e));
      },
      set(data, options, cb) {
        if (typeof options === "function") {
          cb = options;
          options = {};
        }
        options = options || {};
        const done = typeof cb === "function" ? cb : () => {};
        let text;
        try {
          text = JSON.stringify(data);
        } catch (e) {
          return done(e);
        }
        const body = { data: text === undefined ? "null" : text };
        if (!options.force && etag !== undefined) body.etag = etag;
        fetch(s.url, { method: "PUT", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) })
          .then(async (r) => {
            const answer = await r.json();
            if (r.status === 409) {
              const e = new Error("Write conflict: the data changed since it was read");
              e.code = 409;
              e.statusCode = 409;
              const current = answer.conflict;
              e.conflict = current && current.data !== null ? JSON.parse(current.data) : null;
              throw e;
            }
            if (!r.ok) throw storageError(r.status, answer);
            etag = answer.etag;
          })
          .then(() => done(null), (e) => done(e));
      },
    };
  }

  function makeContext(event, parseBodies) {
    const request = event.request;
    const query = copy(event.query);
    const secrets = copy(event.secrets);
    const ctx = {
      query,
      headers: copy(request.headers),
      secrets,
      meta: copy(event.meta),
      id: event.id,
      token: event.storage.token,
      storage: makeStorage(event.storage),
      data: Object.assign({}, query, secrets),
    };
    if (parseBodies) ctx.body = parseBody(request);
    return ctx;
  }

  function bodyBytes(request) {
    if (typeof request.body_base64 === "string") return Buffer.from(request.body_base64, "base64");
    return Buffer.from(typeof request.body === "string" ? request.body : "", "utf8");
  }

  // The raw model's `req`: the request line and headers, and the body as `data`/`end` events.
  function makeRequest(event) {
    const request = event.request;
    const listeners = {};
    let encoding = null;
    let flushed = false;
    const req = {
      method: request.method,
      url: request.url,
      headers: copy(request.headers),
      query: copy(event.query),
      on(name, listener) {
        (listeners[name] = listeners[name] || []).push(listener);
        return req;
      },
      once(name, listener) {
        return req.on(name, listener);
      },
      addListener(name, listener) {
        return req.on(name, listener);
      },
      removeListener() {
        return req;
      },
      setEncoding(e) {
        encoding = e || "utf8";
        return req;
      },
      resume() {
        return req;
      },
      pipe(dest) {
        return dest;
      },
    };
    const emit = (name, value) => (listeners[name] || []).forEach((l) => l(value));
    setTimeout(() => {
      if (flushed) return;
      flushed = true;
      const bytes = bodyBytes(request);
      if (bytes.length > 0) emit("data", encoding === null ? bytes : bytes.toString(encoding));
      emit("end");
    }, 0);
    return req;
  }

  // The raw model's `res`: status, headers and body written by the code itself.
  function makeResponse(send) {
    const headers = {};
    const chunks = [];
    let binary = false;
    const add = (chunk, enc) => {
      if (chunk === undefined || chunk === null || typeof chunk === "function") return;
      if (typeof chunk === "string") {
        chunks.push(enc && enc !== "utf8" && enc !== "utf-8" ? Buffer.from(chunk, enc) : chunk);
        if (enc && enc !== "utf8" && enc !== "utf-8") binary = true;
      } else {
        chunks.push(Buffer.from(chunk));
        binary = true;
      }
    };
    const res = {
      statusCode: 200,
      statusMessage: undefined,
      headersSent: false,
      finished: false,
      setHeader(name, value) {
        // As Node: a list is sent as one header per value (several Set-Cookie), not joined.
        headers[String(name).toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
        return res;
      },
      getHeader(name) {
        return headers[String(name).toLowerCase()];
      },
      getHeaders() {
        return { ...headers };
      },
      hasHeader(name) {
        return String(name).toLowerCase() in headers;
      },
      removeHeader(name) {
        delete headers[String(name).toLowerCase()];
      },
      writeHead(status, reason, more) {
        if (reason !== null && typeof reason === "object") more = reason;
        res.statusCode = status;
        if (more) for (const [k, v] of Object.entries(more)) res.setHeader(k, v);
        res.headersSent = true;
        return res;
      },
      write(chunk, enc) {
        add(chunk, enc);
        res.headersSent = true;
        return true;
      },
      end(chunk, enc, callback) {
        add(chunk, typeof enc === "string" ? enc : undefined);
        res.finished = true;
        const status = Number.isInteger(res.statusCode) ? res.statusCode : 200;
        if (binary) {
          const body = Buffer.concat(chunks.map((c) => (typeof c === "string" ? Buffer.from(c, "utf8") : c)));
          send({ status, headers, body: body.toString("base64"), encoding: "base64", source: "webtask" });
        } else {
          send({ status, headers, body: chunks.join(""), encoding: "utf8", source: "webtask" });
        }
        const cb = typeof enc === "function" ? enc : callback;
        if (typeof cb === "function") cb();
      },
    };
    return res;
  }

  return async function onExecutePostLogin(event, api) {
    let answered = false;
    let finish;
    const done = new Promise((resolve) => {
      finish = resolve;
    });
    const send = (response) => {
      if (answered) return;
      answered = true;
      try {
        api.user.setAppMetadata("webtask:response", response);
      } catch (e) {
        // Past the execution's bound on what it hands back: a small answer still fits.
        const d = describeError(e);
        api.user.setAppMetadata("webtask:response", json(500, { code: 500, error: "Script returned a response larger than the limit.", message: d.message }, "proxy"));
      }
      finish();
    };
    const generic = event.compiler === "generic";
    try {
      if (model === "raw") {
        const ctx = makeContext(event, false);
        fn(ctx, makeRequest(event), makeResponse(send));
      } else {
        const cb = (err, data) => send(resultOf(err, data, generic));
        const ctx = model === "cb" ? null : makeContext(event, true);
        const returned = model === "cb" ? fn(cb) : model === "ctx_cb" ? fn(ctx, cb) : fn(ctx);
        if (returned !== null && typeof returned === "object" && typeof returned.then === "function") {
          returned.then(
            (value) => {
              if (value !== undefined || model === "async") cb(null, value);
            },
            (e) => cb(e === undefined || e === null ? new Error("the returned promise was rejected") : e),
          );
        }
      }
    } catch (e) {
      const d = describeError(e);
      send(json(500, { code: 500, error: "Script generated an unhandled synchronous exception.", name: d.name, message: d.message, stack: d.stack }, "webtask"));
    }
    await done;
  };
}
