// ddbstream's Node.js runtime client: the Lambda Runtime API loop in plain JavaScript.
//
//   node [--max-old-space-size=N] bootstrap.cjs <handler>
//
// Loads the handler ("dir/file.export") from LAMBDA_TASK_ROOT (CommonJS or ES module), then
// asks AWS_LAMBDA_RUNTIME_API for events forever and posts each result or error back, with
// the behaviour of AWS's Node.js runtimes: async and callback handlers, the context object,
// console lines as "timestamp\trequestId\tLEVEL\tmessage", uncaught errors ending the process.
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const util = require("node:util");
const { pathToFileURL } = require("node:url");

const API = `/2018-06-01/runtime`;
const [host, port] = (process.env.AWS_LAMBDA_RUNTIME_API || "127.0.0.1:9001").split(":");
// One keep-alive connection; Node unrefs it while idle, so it never holds the event loop.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let currentRequestId; // undefined outside an invocation, as AWS logs it
let initialized = false; // the handler is loaded
let onEmptyEventLoop = null; // called once when the event loop runs dry (callback handlers)

// ------------------------------------------------------------------ Runtime API

function call(method, route, body, headers) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const request = http.request(
      {
        host,
        port,
        method,
        path: `${API}${route}`,
        agent,
        headers: { "Content-Type": "application/json", ...(data ? { "Content-Length": data.length } : {}), ...headers },
      },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    request.on("error", reject);
    request.end(data);
  });
}

function stdoutFlushed() {
  // A big write to a full pipe is finished asynchronously: the handler's lines must reach the
  // daemon before its result does (they belong before END), so wait for what is still queued.
  if (!process.stdout.writableLength) return Promise.resolve();
  return new Promise((resolve) => process.stdout.write("", resolve));
}

async function post(route, body, headers) {
  await stdoutFlushed();
  return call("POST", route, body, headers);
}

function postError(route, error) {
  const headers = { "Lambda-Runtime-Function-Error-Type": error.errorType };
  return post(route, JSON.stringify(error), headers);
}

// ------------------------------------------------------------------ errors and logs

function describe(error) {
  // Lambda's error document: errorType, errorMessage, trace (the stack's lines).
  if (error instanceof Error) {
    const trace = typeof error.stack === "string" ? error.stack.split("\n") : [];
    return { errorType: error.name || "Error", errorMessage: error.message, trace };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

function typed(errorType, message, cause) {
  const error = new Error(message);
  error.name = errorType;
  Error.captureStackTrace(error, typed); // the stack starts where the error was found, not here
  if (cause && typeof cause.stack === "string") error.stack = `${errorType}: ${message}\n${cause.stack}`;
  return error;
}

function write(level, message) {
  // One CloudWatch event per call: the daemon turns "\r" back into newlines inside it.
  const text = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${message}`;
  process.stdout.write(`${text.replace(/\r?\n/g, "\r")}\n`);
}

function logError(title, document) {
  const { errorType, errorMessage, trace, ...rest } = document;
  write("ERROR", `${title} \t${JSON.stringify({ errorType, errorMessage, ...rest, stack: trace })}`);
}

function patchConsole() {
  const levels = { log: "INFO", info: "INFO", warn: "WARN", error: "ERROR", debug: "DEBUG", trace: "TRACE" };
  for (const [method, level] of Object.entries(levels)) {
    console[method] = (...args) => write(level, util.format(...args));
  }
}

// ------------------------------------------------------------------ loading the handler

function nearestPackageType(directory, root) {
  for (let dir = directory; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      try {
        return JSON.parse(fs.readFileSync(manifest, "utf8")).type || "commonjs";
      } catch {
        return "commonjs";
      }
    }
    if (dir === root || dir === path.dirname(dir)) return "commonjs";
  }
}

async function loadModule(root, moduleName) {
  const base = path.resolve(root, moduleName);
  for (const extension of [".js", ".mjs", ".cjs"]) {
    const file = base + extension;
    if (!fs.existsSync(file)) continue;
    const esm = extension === ".mjs" || (extension === ".js" && nearestPackageType(path.dirname(file), root) === "module");
    return esm ? import(pathToFileURL(file).href) : require(file);
  }
  // Not a file: maybe a package in node_modules, as AWS's runtime tries too.
  const resolved = require.resolve(moduleName, { paths: [root] });
  return resolved.endsWith(".mjs") ? import(pathToFileURL(resolved).href) : require(resolved);
}

function importError(error, moduleName) {
  if (error instanceof SyntaxError) {
    return typed("Runtime.UserCodeSyntaxError", `${error.name}: ${error.message}`, error);
  }
  const notFound = error && (error.code === "MODULE_NOT_FOUND" || error.code === "ERR_MODULE_NOT_FOUND");
  if (!notFound) return error;
  const missing = /Cannot find (?:module|package) '([^']+)'/.exec(error.message);
  const name = missing && !path.isAbsolute(missing[1]) ? missing[1] : moduleName;
  return typed("Runtime.ImportModuleError", `Error: Cannot find module '${name}'\nRequire stack:\n- ${__filename}`);
}

async function loadHandler(spec, root) {
  const match = /^([^.]*?\/)?([^./][^.]*)\.(.+)$/.exec(spec || "");
  if (!match || match[3].split(".").some((part) => !part)) {
    throw typed("Runtime.MalformedHandlerName", "Bad handler");
  }
  const moduleName = `${match[1] || ""}${match[2]}`;
  let loaded;
  try {
    loaded = await loadModule(root, moduleName);
  } catch (error) {
    throw importError(error, moduleName);
  }
  let handler = loaded;
  for (const part of match[3].split(".")) handler = handler == null ? undefined : handler[part];
  if (handler === undefined) {
    throw typed("Runtime.HandlerNotFound", `${moduleName}.${match[3]} is undefined or not exported`);
  }
  if (typeof handler !== "function") {
    throw typed("Runtime.HandlerNotFound", `${moduleName}.${match[3]} is not a function`);
  }
  const major = Number((/^AWS_Lambda_nodejs(\d+)\.x$/.exec(process.env.AWS_EXECUTION_ENV || "") || [])[1]);
  if (major >= 24 && handler.length >= 3 && handler.constructor.name !== "AsyncFunction") {
    throw typed(
      "Runtime.CallbackHandlerDeprecated",
      "AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. " +
        "You need to modify this function to use a supported handler signature to use Node.js 24 or later.",
    );
  }
  return handler;
}

// ------------------------------------------------------------------ one invocation

function makeContext(headers, settle) {
  const env = process.env;
  const deadline = Number(headers["lambda-runtime-deadline-ms"]);
  let waits = true;
  const callback = (error, result) => {
    const outcome = error == null ? { result } : { error };
    if (waits) onEmptyEventLoop = () => settle(outcome);
    else settle(outcome);
  };
  const context = {
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parseJson(headers["lambda-runtime-client-context"]),
    identity: parseJson(headers["lambda-runtime-cognito-identity"]),
    getRemainingTimeInMillis: () => deadline - Date.now(),
    get callbackWaitsForEmptyEventLoop() {
      return waits;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waits = Boolean(value);
    },
    done: callback,
    succeed: (result) => callback(null, result),
    fail: (error) => callback(error == null ? "handled" : error),
  };
  return { context, callback };
}

function parseJson(text) {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function run(handler, event, headers) {
  // Resolves with { result } or { error }: a promise's outcome, or the callback's.
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome) => {
      if (!settled) {
        settled = true;
        onEmptyEventLoop = null;
        resolve(outcome);
      }
    };
    const { context, callback } = makeContext(headers, settle);
    let returned;
    try {
      returned = handler(event, context, callback);
    } catch (error) {
      settle({ error });
      return;
    }
    if (returned && typeof returned.then === "function") {
      returned.then(
        (result) => settle({ result }),
        (error) => settle({ error: error == null ? new Error(String(error)) : error }),
      );
    } else if (!settled && !onEmptyEventLoop) {
      // A handler that neither returns a promise nor calls back ends when the loop is empty.
      onEmptyEventLoop = () => settle({ result: null });
    }
  });
}

async function invoke(handler, next) {
  const requestId = next.headers["lambda-runtime-aws-request-id"];
  currentRequestId = requestId;
  if (next.headers["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"];
  let outcome;
  try {
    outcome = await run(handler, JSON.parse(next.body.toString("utf8") || "null"), next.headers);
  } catch (error) {
    outcome = { error }; // an event that is not JSON (Invoke refuses those before they get here)
  }
  if ("error" in outcome) return postInvokeError(requestId, outcome.error);
  let body;
  try {
    body = JSON.stringify(outcome.result === undefined ? null : outcome.result);
  } catch (cause) {
    return postInvokeError(requestId, typed("Runtime.MarshalError", "Unable to stringify response body", cause));
  }
  return post(`/invocation/${requestId}/response`, body === undefined ? "null" : body);
}

function postInvokeError(requestId, error) {
  const document = describe(error);
  logError("Invoke Error", document);
  return postError(`/invocation/${requestId}/error`, document);
}

// ------------------------------------------------------------------ the process

function fatal(title, error, exitCode) {
  // An error nobody caught: report it for the current invocation (or the init), then exit.
  // Between invocations there is nobody to report to: the exit alone ends this environment.
  const document = describe(error);
  logError(title, document);
  let reported = stdoutFlushed();
  if (currentRequestId) reported = postError(`/invocation/${currentRequestId}/error`, document);
  else if (!initialized) reported = postError("/init/error", document);
  reported.finally(() => process.exit(exitCode));
}

function installProcessHandlers() {
  process.on("beforeExit", () => {
    const callback = onEmptyEventLoop;
    onEmptyEventLoop = null;
    if (callback) callback();
  });
  process.on("uncaughtException", (error) => fatal("Uncaught Exception", error, 129));
  process.on("unhandledRejection", (reason) => {
    let text;
    try {
      text = String(reason);
    } catch {
      text = util.inspect(reason); // a reason without toString()
    }
    const error = typed("Runtime.UnhandledPromiseRejection", text, reason);
    fatal("Unhandled Promise Rejection", error, 128);
  });
}

// Debug mode (the daemon starts node with --inspect=127.0.0.1:PORT): hold the handler back until a
// debugger has attached and said "run" (VS Code and Chrome DevTools do on attach).
function waitForDebugger() {
  const inspector = require("node:inspector");
  const url = inspector.url();
  if (!url) return;
  const where = new URL(url).host;
  process.stderr.write(`ddbstream: waiting for a debugger on ${where}\n`);
  inspector.waitForDebugger();
  process.stderr.write(`ddbstream: debugger attached on ${where}\n`);
}

async function main() {
  waitForDebugger();
  patchConsole();
  installProcessHandlers();
  let handler;
  try {
    handler = await loadHandler(process.argv[2] || process.env._HANDLER, process.env.LAMBDA_TASK_ROOT || process.cwd());
  } catch (error) {
    const document = describe(error);
    logError("Uncaught Exception", document);
    await postError("/init/error", document);
    process.exit(129);
  }
  initialized = true;
  for (;;) {
    const next = await call("GET", "/invocation/next");
    if (next.status !== 200) process.exit(0); // the daemon is stopping this worker
    await invoke(handler, next);
    currentRequestId = undefined;
  }
}

main().catch((error) => {
  process.stderr.write(`ddbstream node runtime: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
