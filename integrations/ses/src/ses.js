// actionflow:ses — the JavaScript face of the module (evaluated as a CommonJS body with `module`, `exports`
// and `call` in scope). It follows the node-ses package: createClient({ key, secret }) then
// client.sendEmail({ to, from, subject, message, altText }). Arguments are checked here, so a missing
// field throws a TypeError before any request leaves the isolate; Rust checks them again.
"use strict";

const isText = (v) => typeof v === "string" && v.length > 0;

function need(where, object, field, hint) {
  const value = object[field];
  if (!isText(value)) {
    const got = value === undefined ? "missing" : value === "" ? "empty" : `a ${typeof value}`;
    throw new TypeError(`actionflow:ses ${where}: \`${field}\` is ${got}; ${hint}`);
  }
  return value;
}

function optionalText(where, object, field) {
  const value = object[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new TypeError(`actionflow:ses ${where}: \`${field}\` must be a string, not a ${typeof value}`);
  }
  return value;
}

function recipients(field, value, required) {
  if (value === undefined || value === null || (required && value === "")) {
    if (required) throw new TypeError(`actionflow:ses sendEmail: \`${field}\` is missing; give an address or an array of addresses`);
    return [];
  }
  const list = Array.isArray(value) ? value : [value];
  list.forEach((address, i) => {
    if (!isText(address)) {
      throw new TypeError(`actionflow:ses sendEmail: \`${field}\`${Array.isArray(value) ? `[${i}]` : ""} must be a non-empty string address`);
    }
  });
  if (required && list.length === 0) {
    throw new TypeError(`actionflow:ses sendEmail: \`${field}\` is an empty list; give at least one address`);
  }
  return list;
}

function message(options) {
  if (options === null || typeof options !== "object") {
    throw new TypeError("actionflow:ses sendEmail: expected an object { to, from, subject, message, altText }");
  }
  const email = {
    to: recipients("to", options.to, true),
    cc: recipients("cc", options.cc, false),
    bcc: recipients("bcc", options.bcc, false),
    replyTo: recipients("replyTo", options.replyTo, false),
    from: need("sendEmail", options, "from", "give the sender address (a verified SES identity)"),
    subject: need("sendEmail", options, "subject", "give the email's subject"),
    message: optionalText("sendEmail", options, "message"),
    altText: optionalText("sendEmail", options, "altText"),
  };
  if (email.message === undefined && email.altText === undefined) {
    throw new TypeError("actionflow:ses sendEmail: give `message` (HTML) or `altText` (plain text)");
  }
  return email;
}

class Client {
  #options;
  constructor(options) {
    if (options === null || typeof options !== "object") {
      throw new TypeError("actionflow:ses createClient: expected an object { key, secret, region?, endpoint? }");
    }
    this.#options = {
      key: need("createClient", options, "key", "pass your AWS access key id, e.g. event.secrets.AWS_SES_KEY"),
      secret: need("createClient", options, "secret", "pass your AWS secret access key, e.g. event.secrets.AWS_SES_SECRET"),
      region: optionalText("createClient", options, "region"),
      endpoint: optionalText("createClient", options, "endpoint") ?? optionalText("createClient", options, "amazon"),
    };
  }

  // Resolves to { messageId }. Like node-ses, an optional callback(err, data) is called too.
  sendEmail(options, callback) {
    const sent = call("sendEmail", { client: this.#options, email: message(options) });
    if (typeof callback === "function") {
      sent.then((data) => callback(null, data), (err) => callback(err));
    }
    return sent;
  }
}

exports.createClient = (options) => new Client(options);
