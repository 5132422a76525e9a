// Binary container for a FeatureState: magic, a JSON header (metadata + array directory), then the raw
// bytes of each typed array, 8-byte aligned. Little-endian, as every platform Node runs on.

const MAGIC = "SKWFST01";

export type NamedArray = Int32Array | Uint32Array | Float64Array | Uint8Array | Int8Array;

/** Named typed arrays: one family's whole state (`columns()`), or what `fromColumns` rebuilds it from. */
export type Columns = Readonly<Record<string, NamedArray>>;

/** The array `name` of `columns`, which must be a `type`; the message names the array otherwise. */
export function column<T extends NamedArray>(
  columns: Columns,
  name: string,
  type: { new (length: number): T; readonly name: string },
): T {
  const array = columns[name];
  if (array === undefined) throw new Error(`lacks array "${name}"`);
  if (!(array instanceof type))
    throw new Error(`array "${name}" is a ${array.constructor.name}, expected a ${type.name}`);
  return array;
}

/** Checks that `arrays` (named) hold `rows` values each. */
export function sameRows(rows: number, arrays: Readonly<Record<string, NamedArray>>): void {
  for (const [name, array] of Object.entries(arrays)) {
    if (array.length !== rows)
      throw new Error(`array "${name}" has ${array.length} values, expected ${rows}`);
  }
}

const CONSTRUCTORS = {
  Int32Array,
  Uint32Array,
  Float64Array,
  Uint8Array,
  Int8Array,
} as const;
type ArrayType = keyof typeof CONSTRUCTORS;

interface Directory {
  meta: Record<string, unknown>;
  arrays: { name: string; type: ArrayType; length: number; offset: number }[];
}

export function encodeSnapshot(meta: Record<string, unknown>, arrays: Record<string, NamedArray>): Buffer {
  const directory: Directory = { meta, arrays: [] };
  let offset = 0;
  for (const [name, array] of Object.entries(arrays)) {
    directory.arrays.push({ name, type: typeName(array), length: array.length, offset });
    offset += align8(array.byteLength);
  }
  const header = Buffer.from(JSON.stringify(directory), "utf8");
  const dataStart = align8(MAGIC.length + 4 + header.length);
  const out = Buffer.alloc(dataStart + offset);
  out.write(MAGIC, 0, "latin1");
  out.writeUInt32LE(header.length, MAGIC.length);
  header.copy(out, MAGIC.length + 4);
  for (const entry of directory.arrays) {
    const array = arrays[entry.name];
    out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), dataStart + entry.offset);
  }
  return out;
}

export function decodeSnapshot(buf: Uint8Array): {
  meta: Record<string, unknown>;
  arrays: Map<string, NamedArray>;
} {
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (bytes.length < MAGIC.length + 4 || bytes.toString("latin1", 0, MAGIC.length) !== MAGIC) {
    throw new Error(`not a skipwise feature-state snapshot (expected the "${MAGIC}" header)`);
  }
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  const headerEnd = MAGIC.length + 4 + headerLength;
  if (headerEnd > bytes.length) throw new Error("feature-state snapshot is truncated (header)");
  const directory = JSON.parse(bytes.toString("utf8", MAGIC.length + 4, headerEnd)) as Directory;
  const dataStart = align8(headerEnd);
  const arrays = new Map<string, NamedArray>();
  for (const entry of directory.arrays) {
    const Ctor = CONSTRUCTORS[entry.type];
    if (!Ctor)
      throw new Error(`feature-state snapshot: array "${entry.name}" has unknown type "${entry.type}"`);
    const from = dataStart + entry.offset;
    const byteLength = entry.length * Ctor.BYTES_PER_ELEMENT;
    if (from + byteLength > bytes.length)
      throw new Error(`feature-state snapshot is truncated (array "${entry.name}")`);
    // Copy: the source buffer may be unaligned or pooled.
    const copy = new Uint8Array(byteLength);
    copy.set(bytes.subarray(from, from + byteLength));
    arrays.set(entry.name, new Ctor(copy.buffer));
  }
  return { meta: directory.meta, arrays };
}

function typeName(array: NamedArray): ArrayType {
  const name = array.constructor.name as ArrayType;
  if (!(name in CONSTRUCTORS)) throw new Error(`cannot snapshot a ${name}`);
  return name;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
