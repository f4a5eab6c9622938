// Copyright Actionflow authors. Apache-2.0.
// fetch for actions: the standard classes (Headers, Request, Response, FormData, with Blob and stream
// bodies) are deno_fetch's; the request itself goes through the host's HTTP client (the
// `op_af_fetch` op), which applies the network policy (private addresses) and the execution's
// budget (requests, bytes, remaining time). deno_fetch's own network ops are disabled.
import { core } from "ext:core/mod.js";
import { op_af_fetch } from "ext:core/ops";

const { Headers } = core.loadExtScript("ext:deno_fetch/20_headers.js");
const { FormData } = core.loadExtScript("ext:deno_fetch/21_formdata.js");
const { extractBody } = core.loadExtScript("ext:deno_fetch/22_body.js");
const { Request, toInnerRequest } = core.loadExtScript("ext:deno_fetch/23_request.js");
const { Response, fromInnerResponse, newInnerResponse, nullBodyStatus } = core.loadExtScript(
  "ext:deno_fetch/23_response.js",
);

export { FormData, Headers, Request, Response };

/** Settles with `call`, or rejects with the signal's reason as soon as it aborts. An aborted call
 * no longer keeps the execution waiting (the host still bounds it by the remaining time). */
function untilAborted(call, signal) {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      core.unrefOpPromise(call);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    call.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

export async function fetch(input, init = undefined) {
  const request = new Request(input, init);
  const signal = request.signal;
  if (signal.aborted) throw signal.reason;
  const inner = toInnerRequest(request);
  const bytes = inner.body === null ? null : new Uint8Array(await request.arrayBuffer());
  if (signal.aborted) throw signal.reason;
  const call = op_af_fetch(
    {
      url: request.url,
      method: request.method,
      headers: inner.headerList.map(([name, value]) => [name, value]),
      redirect: request.redirect,
      hasBody: bytes !== null,
    },
    bytes ?? new Uint8Array(0),
  );
  const res = await untilAborted(call, signal);
  const response = newInnerResponse(res.status, res.statusText);
  response.headerList = res.headers;
  response.urlList = res.redirected ? [request.url, res.url] : [res.url];
  if (res.body.length > 0 && !nullBodyStatus(res.status) && request.method !== "HEAD") {
    response.body = extractBody(res.body).body;
  }
  return fromInnerResponse(response, "immutable");
}
