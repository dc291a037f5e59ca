// Every error of the package carries a stable `code` programs can test, and
// every argument is checked here before it reaches the WebAssembly binding:
// the binding converts values the way the wasm ABI does (a string index
// becomes a number, `null` becomes 0, a number as text corrupts memory), so
// nothing unchecked may pass.

/** An error of the package: any `Error` with a stable `code`. */
export type WeftError = Error & { readonly code: string };

/** Gives `error` its `code` (and the package's error name). */
export function withCode<E extends Error>(error: E, code: string, name = "WeftError"): E & { code: string } {
  error.name = name;
  return Object.assign(error, { code });
}

/** A value of the wrong type: a `TypeError` with code `INVALID_ARGUMENT`. */
export function typeError(message: string): TypeError & { code: string } {
  return Object.assign(new TypeError(message), { code: "INVALID_ARGUMENT" });
}

/** A value of the right type out of its range: a `RangeError` with `code`. */
export function rangeError(message: string, code = "INVALID_ARGUMENT"): RangeError & { code: string } {
  return Object.assign(new RangeError(message), { code });
}

/** Whether `err` is one of the coded errors (of this package, or of the binding). */
export function isCoded(err: unknown): err is WeftError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === "string";
}

/** A value for a message, without calling anything of it (a Symbol cannot be put in a template). */
function describe(value: unknown): string {
  switch (typeof value) {
    case "number":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "string":
      return "a string";
    case "object":
      return value === null ? "null" : Array.isArray(value) ? "an array" : "an object";
    default:
      return typeof value; // undefined, boolean, symbol, function
  }
}

/** A UTF-16 index or length: a non-negative integer (`-0` is returned as 0). */
export function checkIndex(value: unknown, what: string): number {
  if (typeof value !== "number") throw typeError(`${what} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 0) throw rangeError(`${what} must be a non-negative integer, got ${describe(value)}`);
  return value === 0 ? 0 : value;
}

/** A lone surrogate: a high one not followed by a low one, or a low one not after a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text to insert: a string of Unicode text. A lone surrogate (half of an
 * astral character) has no place in a document of characters: the binding
 * would store U+FFFD instead, and the text would differ from what the change
 * event reports, so it is refused with a `RangeError` of code
 * `LONE_SURROGATE`. (`text.toWellFormed()` replaces them with U+FFFD.)
 */
export function checkText(value: unknown): string {
  if (typeof value !== "string") throw typeError(`text must be a string, got ${describe(value)}`);
  const wellFormed = (value as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof wellFormed === "function" ? !wellFormed.call(value) : LONE_SURROGATE.test(value)) {
    throw rangeError(
      `text holds a lone surrogate at index ${value.search(LONE_SURROGATE)}: half of a character (text.toWellFormed() replaces them with U+FFFD)`,
      "LONE_SURROGATE",
    );
  }
  return value;
}

/** Bytes: a `Uint8Array` (a Node `Buffer` is one), also from another realm. */
export function checkBytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value) && (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === "Uint8Array") {
    return value as Uint8Array;
  }
  throw typeError(`${what} must be a Uint8Array, got ${describe(value)}`);
}

const U64_END = 1n << 64n;

/** A replica id: a bigint that fits in 64 unsigned bits (a wider one would wrap silently). */
export function checkReplica(value: unknown): bigint {
  if (typeof value !== "bigint") throw typeError(`replica must be a bigint, got ${describe(value)}`);
  if (value < 0n || value >= U64_END) throw rangeError(`replica must be an unsigned 64-bit id (0n to 2n ** 64n - 1n), got ${describe(value)}`);
  return value;
}

/** An options object: `undefined` (no options) or an object. */
export function checkOptions<T extends object>(value: unknown, what: string): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null) throw typeError(`${what} must be an object, got ${describe(value)}`);
  return value as Partial<T>;
}

/**
 * One of a few strings (as ECMAScript's own options: a `RangeError` for a
 * string not among them, a `TypeError` for anything else).
 */
export function checkChoice<T extends string>(value: unknown, choices: readonly T[], what: string): T {
  if ((choices as readonly unknown[]).includes(value)) return value as T;
  const expected = choices.map((c) => `"${c}"`).join(" or ");
  if (typeof value === "string") throw rangeError(`${what} must be ${expected}, got "${value}"`);
  throw typeError(`${what} must be ${expected}, got ${describe(value)}`);
}

/** A string (a name, a URL, a secret). */
export function checkString(value: unknown, what: string): string {
  if (typeof value !== "string") throw typeError(`${what} must be a string, got ${describe(value)}`);
  return value;
}

/** A function to call back. */
export function checkFunction(value: unknown, what: string): void {
  if (typeof value !== "function") throw typeError(`${what} must be a function, got ${describe(value)}`);
}
