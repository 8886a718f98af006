"use strict";
// The batch loop: decode, log and process each record, report partial failures (ReportBatchItemFailures).
// Its log lines are the Python consumer's (lambda/consumer/batch.py), so `ddbstream tail` reads both alike.

const { dumps, fields, fromRecord } = require("./changes");

const PROCESS = "process";

class InjectedFailure extends Error {
  constructor(message) {
    super(message);
    this.name = "InjectedFailure";
  }
}

function emit(line) {
  // One JSON line on stdout, as the Python consumer prints it (no console prefix).
  process.stdout.write(`${dumps(line)}\n`);
}

function settingsFromEnv(env = process.env) {
  return { tableName: env.TABLE_NAME || null, failAttribute: env.FAIL_ATTRIBUTE || null };
}

function truthy(value) {
  // Python's truthiness of a plain value: what FAIL_ATTRIBUTE means by "set".
  if (value == null || value === false || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (value && typeof value === "object" && "text" in value) return Number(value.text) !== 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return Boolean(value);
}

function checkFailAttribute(change, attribute) {
  if (attribute && truthy((change.image || {})[attribute])) {
    throw new InjectedFailure(`attribute '${attribute}' is set on this item (FAIL_ATTRIBUTE)`);
  }
}

function describe(error) {
  return error instanceof Error ? `${error.name}: ${error.message}` : `${typeof error}: ${error}`;
}

function sequenceNumberOf(record) {
  // "" (which makes Lambda retry the whole batch) when the record has none.
  const number = record && record.dynamodb && record.dynamodb.SequenceNumber;
  return typeof number === "string" ? number : "";
}

function ids(change) {
  return {
    eventName: change.eventName,
    keys: change.keys,
    sequenceNumber: change.sequenceNumber,
    eventID: change.eventID,
  };
}

function failureLine(record, change, error) {
  const base = change
    ? ids(change)
    : {
        eventName: (record && record.eventName) ?? null,
        sequenceNumber: sequenceNumberOf(record) || null,
        eventID: (record && record.eventID) ?? null,
      };
  return { ...base, level: "ERROR", step: PROCESS, error: describe(error) };
}

async function handle(event, onChange, settings, ledger) {
  // Every record is tried, whatever happened to the others; a failed one is reported by its
  // SequenceNumber. A record already processed by this container is skipped as a duplicate.
  const failures = [];
  const processed = [];
  for (const record of event.Records || []) {
    let change;
    try {
      change = fromRecord(record, settings.tableName);
    } catch (error) {
      failures.push(sequenceNumberOf(record));
      emit(failureLine(record, null, error));
      continue;
    }
    if (ledger.done(change.eventID).has(PROCESS)) {
      emit({ ...ids(change), duplicate: true });
      continue;
    }
    emit(fields(change));
    try {
      checkFailAttribute(change, settings.failAttribute);
      await onChange(change);
    } catch (error) {
      failures.push(change.sequenceNumber);
      emit(failureLine(record, change, error));
      continue;
    }
    ledger.mark(change.eventID, PROCESS);
    processed.push(change);
  }
  const response = { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  if ("window" in event) response.state = windowState(event, processed);
  return response;
}

function windowState(event, processed) {
  // Tumbling windows: processed changes per eventName; logged when the window closes.
  const state = { ...(event.state || {}) };
  for (const change of processed) state[change.eventName] = (state[change.eventName] || 0) + 1;
  if (event.isFinalInvokeForWindow) emit({ window: event.window ?? null, shardId: event.shardId ?? null, counts: state });
  return state;
}

module.exports = { InjectedFailure, handle, settingsFromEnv };
