// `{ key: value }` when the value is defined, `{}` otherwise: spread into an object literal, it
// leaves an absent optional property absent (exactOptionalPropertyTypes forbids `key: undefined`).

export const optional = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } =>
  (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
