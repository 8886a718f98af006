"use strict";
// One stream record as a plain-JSON change, and a JSON writer that keeps numbers exact.
// The line it writes is the Python consumer's (lambda/consumer/changes.py), byte for byte.

const { unmarshall } = require("@aws-sdk/util-dynamodb");

const EVENT_NAMES = ["INSERT", "MODIFY", "REMOVE"];

// A number kept as its exact decimal text; dumps() writes it unquoted.
class ExactNumber {
  constructor(text) {
    this.text = text;
  }
}

const NUMBER = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

function exactNumber(text) {
  // The number as Python's Decimal prints it after the Python consumer's int() of integral values:
  // "1E+3" -> 1000, "2.0" -> 2, "1.50" -> 1.50, "0.0000001" -> 1E-7.
  const match = NUMBER.exec(text);
  if (!match) throw new Error(`not a number: ${text}`);
  const [, sign, whole, fraction = "", exponentText = "0"] = match;
  const coefficient = `${whole}${fraction}`.replace(/^0+(?=\d)/, "") || "0";
  const exponent = Number(exponentText) - fraction.length; // value = coefficient * 10^exponent
  const significant = coefficient.replace(/0+$/, "");
  if (!significant) return new ExactNumber("0");
  if (exponent + (coefficient.length - significant.length) >= 0) {
    const integer = exponent >= 0 ? coefficient + "0".repeat(exponent) : coefficient.slice(0, exponent);
    return new ExactNumber(`${sign}${integer}`);
  }
  const adjusted = exponent + coefficient.length - 1;
  if (adjusted < -6) {
    const tail = coefficient.length > 1 ? `.${coefficient.slice(1)}` : "";
    return new ExactNumber(`${sign}${coefficient[0]}${tail}E${adjusted}`);
  }
  const point = coefficient.length + exponent;
  const plain = point > 0 ? `${coefficient.slice(0, point)}.${coefficient.slice(point)}` : `0.${"0".repeat(-point)}${coefficient}`;
  return new ExactNumber(`${sign}${plain}`);
}

function compareSetMembers(a, b) {
  if (a instanceof ExactNumber) return Number(a.text) - Number(b.text) || (a.text < b.text ? -1 : 1);
  if (a instanceof Buffer) return Buffer.compare(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

function toPlain(value, binary = false) {
  // Unmarshalled values as plain data: exact numbers, sets as sorted lists, binary as base64 text.
  if (value && typeof value === "object" && "value" in value && value.constructor.name.startsWith("NumberValue")) {
    return exactNumber(String(value.value));
  }
  if (value instanceof Set) {
    const members = [...value].map((member) => (typeof member === "string" && binary ? Buffer.from(member, "base64") : toPlain(member)));
    members.sort(compareSetMembers);
    return members.map((member) => (member instanceof Buffer ? member.toString("base64") : member));
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map((item) => toPlain(item));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toPlain(item)]));
  }
  return value;
}

function imageToPlain(image) {
  // A DynamoDB-JSON image (Keys, NewImage, OldImage) as plain data; null stays null.
  if (image == null) return null;
  const native = unmarshall(image, { wrapNumbers: true });
  const binarySets = new Set(Object.keys(image).filter((name) => image[name] && "BS" in image[name]));
  return Object.fromEntries(Object.entries(native).map(([name, value]) => [name, toPlain(value, binarySets.has(name))]));
}

function quote(text) {
  // JSON string as Python's json.dumps writes it: everything outside printable ASCII escaped.
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function dumps(value) {
  // JSON text with Python's separators (", " and ": ") and exact numbers.
  if (value instanceof ExactNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(dumps).join(", ")}]`;
  if (value && typeof value === "object") {
    return `{${Object.entries(value).map(([key, item]) => `${quote(key)}: ${dumps(item)}`).join(", ")}}`;
  }
  if (typeof value === "string") return quote(value);
  if (typeof value === "number" && !Number.isInteger(value)) return String(value);
  return value === undefined ? "null" : JSON.stringify(value);
}

function isoUtc(seconds) {
  // ISO-8601 UTC with a Z; fractions of a second (as microseconds) only when there are any.
  if (seconds == null) return null;
  const micros = Math.round(Number(seconds) * 1e6);
  const whole = Math.floor(micros / 1e6);
  const text = new Date(whole * 1000).toISOString().slice(0, 19);
  const fraction = micros - whole * 1e6;
  return fraction ? `${text}.${String(fraction).padStart(6, "0")}Z` : `${text}Z`;
}

function tableFromArn(arn) {
  // The table name in a stream ARN (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>).
  if (typeof arn !== "string" || !arn.includes(":table/")) return null;
  return arn.split(":table/")[1].split("/")[0] || null;
}

function fromRecord(record, defaultTable = null) {
  // Decode one record of a DynamoDB stream event; throws when it is malformed.
  const eventName = record && record.eventName;
  if (!EVENT_NAMES.includes(eventName)) throw new Error(`unknown eventName ${JSON.stringify(eventName ?? null)}`);
  const ddb = record.dynamodb;
  if (!ddb || typeof ddb !== "object") throw new Error("record has no 'dynamodb' section");
  const sequenceNumber = ddb.SequenceNumber;
  if (typeof sequenceNumber !== "string" || !sequenceNumber) throw new Error("record has no SequenceNumber");
  const change = {
    eventName,
    keys: imageToPlain(ddb.Keys || {}),
    old: imageToPlain(ddb.OldImage),
    new: imageToPlain(ddb.NewImage),
    sequenceNumber,
    eventID: record.eventID ?? null,
    created: ddb.ApproximateCreationDateTime ?? null,
    table: tableFromArn(record.eventSourceARN) || defaultTable,
    sourceArn: record.eventSourceARN ?? null,
  };
  change.image = eventName === "REMOVE" ? change.old : change.new;
  return change;
}

function fields(change) {
  // The change as one log line's fields, in the Python consumer's order.
  return {
    eventName: change.eventName,
    keys: change.keys,
    old: change.old,
    new: change.new,
    sequenceNumber: change.sequenceNumber,
    eventID: change.eventID,
    approximateCreationTime: isoUtc(change.created),
  };
}

module.exports = { ExactNumber, dumps, exactNumber, fields, fromRecord, imageToPlain, isoUtc, tableFromArn };
