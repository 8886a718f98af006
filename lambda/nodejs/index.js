"use strict";
// DataProcessor: the DynamoDB Streams consumer of the RealTimeDataTable pipeline (handler "index.handler").
//
// For every record it prints one JSON line (eventName, keys, old, new, sequenceNumber, eventID,
// approximateCreationTime), then runs the branch for its eventName below: put your own logic
// there. A record that fails is reported back to Lambda in batchItemFailures and never fails
// the rest of its batch. See ../README.md ("The Node.js consumer").

const { handle, settingsFromEnv } = require("./lib/batch");
const { Ledger } = require("./lib/ledger");

// eventIDs already handled, kept while this container stays warm.
const ledger = new Ledger();

// Your logic, one function per kind of change. Throw to fail only this record (Lambda retries it).
// change.keys / change.old / change.new are plain objects (null when the stream view type leaves
// an image out); numbers are exact (ExactNumber: read .text), sets are sorted arrays, binary is base64.
const branches = {
  INSERT: async (change) => {
    // Process new data.
  },
  MODIFY: async (change) => {
    // Handle updates.
  },
  REMOVE: async (change) => {
    // Handle deletes.
  },
};

async function processChange(change) {
  if (change.eventName === "INSERT") return branches.INSERT(change);
  if (change.eventName === "MODIFY") return branches.MODIFY(change);
  if (change.eventName === "REMOVE") return branches.REMOVE(change);
}

exports.handler = async (event) => handle(event, processChange, settingsFromEnv(), ledger);
exports.branches = branches;
exports.ledger = ledger;
