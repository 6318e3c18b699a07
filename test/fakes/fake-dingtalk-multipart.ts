/**
 * A small, strict `multipart/form-data` parser for the fake DingTalk's `media/upload` (RFC 7578). Test
 * code only: the whole body is in memory and malformed input simply yields `undefined`.
 */

/** One part of a multipart body. Header names are lower-cased; `filename` is decoded as UTF-8. */
export interface MultipartPart {
  readonly name: string;
  /** `undefined` for plain form fields. */
  readonly filename: string | undefined;
  /** The part's own Content-Type, when it has one. */
  readonly contentType: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly bytes: Buffer;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The `boundary` parameter of a `multipart/form-data` Content-Type, or `undefined`. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const [mediaType, ...params] = contentType.split(';');
  if (mediaType?.trim().toLowerCase() !== 'multipart/form-data') return undefined;
  for (const param of params) {
    const match = /^\s*boundary=(?:"([^"]+)"|([^\s;]+))\s*$/i.exec(param);
    const boundary = match?.[1] ?? match?.[2];
    if (boundary !== undefined && boundary.length <= 70) return boundary;
  }
  return undefined;
}

/**
 * The parts of `body`, or `undefined` when it is not a well-formed multipart body for `boundary`
 * (missing delimiters, a part without headers or without a `form-data` disposition, no close delimiter).
 */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] | undefined {
  const delimiter = Buffer.from(`--${boundary}`);
  // The first delimiter may be preceded by a preamble; later ones are always preceded by CRLF.
  let position = body.indexOf(delimiter);
  if (position === -1) return undefined;
  const nextDelimiter = Buffer.concat([CRLF, delimiter]);
  const parts: MultipartPart[] = [];
  for (;;) {
    position += delimiter.length;
    if (body.subarray(position, position + 2).toString('latin1') === '--') return parts;
    if (!body.subarray(position, position + 2).equals(CRLF)) return undefined;
    position += 2;
    const end = body.indexOf(nextDelimiter, position);
    if (end === -1) return undefined;
    const part = parsePart(body.subarray(position, end));
    if (part === undefined) return undefined;
    parts.push(part);
    position = end + CRLF.length;
  }
}

function parsePart(raw: Buffer): MultipartPart | undefined {
  const headerEnd = raw.indexOf(HEADER_END);
  if (headerEnd === -1) return undefined;
  const headers: Record<string, string> = {};
  for (const line of raw.subarray(0, headerEnd).toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const disposition = parseDisposition(headers['content-disposition']);
  if (disposition === undefined) return undefined;
  return {
    name: disposition.name,
    filename: disposition.filename,
    contentType: headers['content-type'],
    headers,
    bytes: raw.subarray(headerEnd + HEADER_END.length),
  };
}

/**
 * `name` and `filename` of a `form-data` Content-Disposition. `filename*=UTF-8''…` (RFC 5987) wins over
 * `filename`; a quoted `filename` has the `%22`/`%0D`/`%0A` escapes of the WHATWG encoder undone.
 */
function parseDisposition(
  value: string | undefined,
): { name: string; filename: string | undefined } | undefined {
  if (value === undefined) return undefined;
  const [kind, ...rest] = splitParams(value);
  if (kind?.toLowerCase() !== 'form-data') return undefined;
  const params = new Map<string, string>();
  for (const param of rest) {
    const equals = param.indexOf('=');
    if (equals <= 0) continue;
    const key = param.slice(0, equals).trim().toLowerCase();
    let text = param.slice(equals + 1).trim();
    if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) text = text.slice(1, -1);
    params.set(key, text);
  }
  const name = params.get('name');
  if (name === undefined) return undefined;
  const extended = params.get('filename*');
  const plain = params.get('filename');
  let filename: string | undefined;
  if (extended !== undefined && /^utf-8''/i.test(extended)) {
    try {
      filename = decodeURIComponent(extended.slice("utf-8''".length));
    } catch {
      return undefined;
    }
  } else if (plain !== undefined) {
    filename = plain.replace(/%22/g, '"').replace(/%0D/g, '\r').replace(/%0A/g, '\n');
  }
  return { name, filename };
}

/** Splits on `;` outside double quotes. */
function splitParams(value: string): string[] {
  const params: string[] = [];
  let current = '';
  let isQuoted = false;
  for (const char of value) {
    if (char === '"') isQuoted = !isQuoted;
    if (char === ';' && !isQuoted) {
      params.push(current.trim());
      current = '';
    } else {
      current += char;
    }
  }
  params.push(current.trim());
  return params;
}
