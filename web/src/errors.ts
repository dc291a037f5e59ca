// Every error of the package carries a stable `code` programs can test.

/** Gives `error` its `code` (and the package's error name). */
export function withCode<E extends Error>(error: E, code: string, name = "WeftError"): E & { code: string } {
  error.name = name;
  return Object.assign(error, { code });
}
