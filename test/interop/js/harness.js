// The line protocol the interop suites share: each case prints
// "PASS name", "FAIL name: reason" or "SKIP name: reason", then "DONE";
// interop_test.go turns every line into a Go subtest.
"use strict";

const ews = require("ews-javascript-api");

const log = (...a) => console.error(...a);

const CASES = [];
const RESULTS = {};

class Skip extends Error {}
class Failure extends Error {}

process.on("unhandledRejection", (e) => log("unhandled rejection:", describe(e)));

function test(name, fn, needs = []) {
  CASES.push({ name, fn, needs });
}

function assert(cond, msg) {
  if (!cond) throw new Failure(msg);
}

function describe(e) {
  if (e == null || typeof e !== "object") return String(e);
  const kind = (e.constructor && e.constructor.name) || typeof e;
  const code = errorCode(e) || "";
  return `${kind}${code ? " " + code : ""}: ${e.message || e.Message || ""}`;
}

function errorCode(e) {
  if (e instanceof ews.SoapFaultDetails) return (e.HttpStatusCode ?? e.status) === 500 ? ews.ServiceError[e.ResponseCode] : null;
  return e && e.ErrorCode !== undefined ? ews.ServiceError[e.ErrorCode] : null;
}

function withTimeout(p, ms) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Failure(`timed out after ${ms / 1000}s`)), ms);
    }),
  ]);
}

function oneLine(s, limit = 900) {
  s = String(s).split(/\r?\n/).map((x) => x.trim()).filter(Boolean).join(" | ");
  return s.length <= limit ? s : s.slice(0, limit) + " ...";
}

// run runs every case in order, each limited to timeoutMs.
async function run(timeoutMs = 60000) {
  for (const { name, fn, needs } of CASES) {
    const unmet = needs.filter((n) => RESULTS[n] !== "PASS");
    const t0 = Date.now();
    let status = "PASS";
    let reason = "";
    if (unmet.length) {
      status = "SKIP";
      reason = `needs ${unmet.join(", ")}, which did not pass`;
    } else {
      try {
        await withTimeout(Promise.resolve().then(fn), timeoutMs);
      } catch (e) {
        if (e instanceof Skip) {
          status = "SKIP";
          reason = e.message;
        } else {
          status = "FAIL";
          reason = e instanceof Failure ? e.message : describe(e);
          log(e && e.stack ? e.stack : e);
        }
      }
    }
    RESULTS[name] = status;
    log(`-- ${name}: ${status} in ${((Date.now() - t0) / 1000).toFixed(2)}s`);
    console.log(`${status} ${name}` + (reason ? `: ${oneLine(reason)}` : ""));
  }
  console.log("DONE");
}

module.exports = { CASES, RESULTS, Skip, Failure, test, assert, describe, errorCode, withTimeout, oneLine, run, log };
