// What an uploaded file is, decided from its first bytes: the client's Content-Type is only recorded,
// never believed. A small magic-number table covers the common binary formats; text (valid UTF-8, no
// NUL) is refined by the client's extension among a few harmless text types; anything else is
// application/octet-stream. The stored extension comes from this table too, never from the client.

/** The folder an upload is filed under. */
export type FileType = 'document' | 'image' | 'audio' | 'video' | 'archive' | 'other';

/** What the sniffer decided. */
export interface FileKind {
  mimeType: string;
  fileType: FileType;
  /** With the dot, e.g. `.png`; from our table only. */
  extension: string;
}

/** How many leading bytes the sniffer wants. */
export const sniffBytes = 4096;

interface Signature {
  mimeType: string;
  /** Bytes expected at `offset`; `null` entries match any byte. */
  bytes: Array<number | null>;
  offset?: number;
}

const ascii = (text: string): number[] => [...text].map((char) => char.charCodeAt(0));
const riff = (form: string): Array<number | null> => [...ascii('RIFF'), null, null, null, null, ...ascii(form)];

// Longer, more specific signatures first: RIFF containers differ only at byte 8.
const signatures: Signature[] = [
  { mimeType: 'image/png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { mimeType: 'image/jpeg', bytes: [0xff, 0xd8, 0xff] },
  { mimeType: 'image/gif', bytes: ascii('GIF87a') },
  { mimeType: 'image/gif', bytes: ascii('GIF89a') },
  { mimeType: 'image/webp', bytes: riff('WEBP') },
  { mimeType: 'image/tiff', bytes: [0x49, 0x49, 0x2a, 0x00] },
  { mimeType: 'image/tiff', bytes: [0x4d, 0x4d, 0x00, 0x2a] },
  { mimeType: 'application/pdf', bytes: ascii('%PDF-') },
  { mimeType: 'application/zip', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { mimeType: 'application/zip', bytes: [0x50, 0x4b, 0x05, 0x06] },
  { mimeType: 'application/gzip', bytes: [0x1f, 0x8b] },
  { mimeType: 'application/x-7z-compressed', bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { mimeType: 'application/vnd.rar', bytes: [...ascii('Rar!'), 0x1a, 0x07] },
  { mimeType: 'audio/wav', bytes: riff('WAVE') },
  { mimeType: 'video/x-msvideo', bytes: riff('AVI ') },
  { mimeType: 'audio/mpeg', bytes: ascii('ID3') },
  { mimeType: 'audio/ogg', bytes: ascii('OggS') },
  { mimeType: 'audio/flac', bytes: ascii('fLaC') },
  { mimeType: 'audio/mp4', bytes: ascii('ftypM4A'), offset: 4 },
  { mimeType: 'video/quicktime', bytes: ascii('ftypqt'), offset: 4 },
  { mimeType: 'video/mp4', bytes: ascii('ftyp'), offset: 4 },
  { mimeType: 'video/webm', bytes: [0x1a, 0x45, 0xdf, 0xa3] },
];

// Office documents are zip files; their extension says which, once the bytes say "zip".
const zipDocuments: Record<string, string> = {
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.pptx': 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  '.odt': 'application/vnd.oasis.opendocument.text',
  '.ods': 'application/vnd.oasis.opendocument.spreadsheet',
};

// Text whose extension names one of these keeps that type; other text is text/plain. No text/html or
// SVG here: a stored page must never be served as something a browser would run.
const textTypes: Record<string, string> = {
  '.csv': 'text/csv',
  '.tsv': 'text/tab-separated-values',
  '.json': 'application/json',
  '.ndjson': 'application/x-ndjson',
  '.xml': 'application/xml',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.md': 'text/markdown',
  '.txt': 'text/plain',
  '.log': 'text/plain',
};

const extensions: Record<string, string> = {
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/gif': '.gif',
  'image/webp': '.webp',
  'image/tiff': '.tif',
  'application/pdf': '.pdf',
  'application/zip': '.zip',
  'application/gzip': '.gz',
  'application/x-7z-compressed': '.7z',
  'application/vnd.rar': '.rar',
  'audio/wav': '.wav',
  'audio/mpeg': '.mp3',
  'audio/ogg': '.ogg',
  'audio/flac': '.flac',
  'audio/mp4': '.m4a',
  'video/x-msvideo': '.avi',
  'video/quicktime': '.mov',
  'video/mp4': '.mp4',
  'video/webm': '.webm',
  'text/csv': '.csv',
  'text/tab-separated-values': '.tsv',
  'application/json': '.json',
  'application/x-ndjson': '.ndjson',
  'application/xml': '.xml',
  'application/yaml': '.yaml',
  'text/markdown': '.md',
  'text/plain': '.txt',
  'application/octet-stream': '.bin',
};

const archives = new Set(['application/zip', 'application/gzip', 'application/x-7z-compressed', 'application/vnd.rar']);

/** Decides a file's kind from its first bytes (`head`) and, for zip and text only, the client's extension. */
export function sniffFileKind(head: Uint8Array, clientFilename: string): FileKind {
  const clientExtension = extensionOf(clientFilename);
  let mimeType = signatures.find((signature) => matches(head, signature))?.mimeType;
  if (mimeType === 'application/zip' && zipDocuments[clientExtension]) mimeType = zipDocuments[clientExtension];
  mimeType ??= looksLikeText(head) ? (textTypes[clientExtension] ?? 'text/plain') : 'application/octet-stream';
  const extension = extensions[mimeType] ?? (clientExtension in zipDocuments ? clientExtension : '.bin');
  return { mimeType, fileType: fileTypeOf(mimeType), extension };
}

/** The folder a MIME type is filed under. */
export function fileTypeOf(mimeType: string): FileType {
  if (archives.has(mimeType)) return 'archive';
  const [major] = mimeType.split('/');
  if (major === 'image' || major === 'audio' || major === 'video') return major;
  if (mimeType === 'application/octet-stream') return 'other';
  // Everything else we name (text, pdf, json, office documents) is a document.
  return major === 'text' || mimeType in extensions || Object.values(zipDocuments).includes(mimeType) ? 'document' : 'other';
}

function matches(head: Uint8Array, signature: Signature): boolean {
  const offset = signature.offset ?? 0;
  if (head.length < offset + signature.bytes.length) return false;
  return signature.bytes.every((byte, index) => byte === null || head[offset + index] === byte);
}

/** Valid UTF-8 without NUL; a character cut at the end of the head does not count against it. */
function looksLikeText(head: Uint8Array): boolean {
  if (head.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/** `.csv` from `report.CSV`; '' when the name has no plain extension. */
function extensionOf(filename: string): string {
  const match = /\.([A-Za-z0-9]{1,10})$/.exec(filename);
  return match ? `.${match[1]!.toLowerCase()}` : '';
}
