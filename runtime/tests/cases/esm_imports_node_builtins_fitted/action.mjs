// Several `node:` built-ins in one ES module graph (this aborted the process when deno_core resolved
// them itself), each the fitted module `require` gives.
import { createHash, createHmac } from "node:crypto";
import { promisify } from "node:util";
import { Buffer } from "node:buffer";
import process from "node:process";
import http2 from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";

export async function onExecutePostLogin() {
  console.log(createHash("sha256").update("abc").digest("hex").slice(0, 16));
  console.log(createHmac("sha256", "k").update("v").digest("base64url").length);
  console.log(typeof promisify, Buffer.from("hi").toString("hex"));
  console.log(Object.keys(process.env).length, process.env.HOME === undefined);
  await sleep(1);
  try { http2.createServer(); } catch (e) { console.log(e.message); }
  console.log(typeof http2.connect, http2.constants.HTTP2_HEADER_STATUS);
}
