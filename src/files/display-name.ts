// The client's filename is display text only: cleaned to one printable name here, kept as
// `original_filename`, and offered back in Content-Disposition. It never takes part in a path.

/** The longest display name kept, in characters. */
export const maxDisplayNameChars = 255;

const fallbackName = 'upload';

// C0/C1 controls (NUL included), bidirectional overrides that can disguise an extension
// ("evil\u202Egpj.exe"), zero-width characters and the byte-order mark.
const invisible = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

// Half of a surrogate pair is not text (and would make encodeURIComponent throw).
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The client's filename as a single printable name: last path segment, no controls, at most 255 characters. */
export function cleanDisplayName(raw: string): string {
  const lastSegment = raw.normalize('NFC').split(/[\\/]/).pop() ?? '';
  const name = lastSegment.replace(invisible, '').replace(loneSurrogate, '\ufffd').trim();
  if (name === '' || /^\.+$/.test(name)) return fallbackName;
  const chars = Array.from(name);
  if (chars.length <= maxDisplayNameChars) return name;
  // Cut the stem, not the extension, so a long name still reads as the same kind of file.
  const extension = /\.[A-Za-z0-9]{1,10}$/.exec(name)?.[0] ?? '';
  return chars.slice(0, maxDisplayNameChars - extension.length).join('') + extension;
}

/** `attachment` with an ASCII `filename` for old clients and the exact name as RFC 5987 `filename*`. */
export function attachmentDisposition(displayName: string): string {
  // Quotes, backslashes and percent signs are replaced in the fallback: some clients decode or end on them.
  const ascii = displayName.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(displayName).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
