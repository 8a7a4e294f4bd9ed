/**
 * Go's %q of a byte string given as a binary (latin1) string, returned as a binary string: the
 * bytes are read as UTF-8;
 * printable runes stay, `"` and `\` are escaped, control runes use \a \b \f \n \r \t \v or
 * \xNN / \uNNNN / \UNNNNNNNN, and bytes that are not valid UTF-8 become \xNN.
 */
export function goQuote(binary: string): string {
  const bytes = Buffer.from(binary, 'latin1');
  let out = '"';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      out += quoteRune(b);
      i++;
      continue;
    }
    const [cp, size] = decodeRune(bytes, i);
    if (cp < 0) {
      out += '\\x' + hex2(b);
      i++;
      continue;
    }
    // Printable runes stay as their UTF-8 bytes (this returns a binary string too).
    out += isPrintable(cp) ? binary.slice(i, i + size) : runeEscape(cp);
    i += size;
  }
  return out + '"';
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}

function quoteRune(b: number): string {
  switch (b) {
    case 0x22: return '\\"';
    case 0x5c: return '\\\\';
    case 0x07: return '\\a';
    case 0x08: return '\\b';
    case 0x0c: return '\\f';
    case 0x0a: return '\\n';
    case 0x0d: return '\\r';
    case 0x09: return '\\t';
    case 0x0b: return '\\v';
    default:
      return b < 0x20 || b === 0x7f ? '\\x' + hex2(b) : String.fromCharCode(b);
  }
}

function runeEscape(cp: number): string {
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}

function isPrintable(cp: number): boolean {
  // Close to Go's unicode.IsPrint for what topic names can contain: no C0/C1 controls,
  // no surrogates or noncharacters, no format or separator characters other than space.
  if (cp <= 0x9f) return cp >= 0x20 && cp !== 0x7f && cp < 0x80;
  if (cp === 0xad || (cp >= 0x2028 && cp <= 0x2029) || (cp >= 0x200b && cp <= 0x200f) || cp === 0xfeff) return false;
  if ((cp & 0xfffe) === 0xfffe) return false;
  return /\p{L}|\p{M}|\p{N}|\p{P}|\p{S}/u.test(String.fromCodePoint(cp));
}

/** Decode one UTF-8 rune at i: [codepoint, size], or [-1, 1] when invalid. */
function decodeRune(b: Uint8Array, i: number): [number, number] {
  const c0 = b[i]!;
  const cont = (k: number): number => {
    const c = b[i + k];
    return c !== undefined && (c & 0xc0) === 0x80 ? c & 0x3f : -1;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    const c1 = cont(1);
    return c1 < 0 ? [-1, 1] : [((c0 & 0x1f) << 6) | c1, 2];
  }
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const c1 = cont(1);
    const c2 = cont(2);
    if (c1 < 0 || c2 < 0) return [-1, 1];
    const cp = ((c0 & 0x0f) << 12) | (c1 << 6) | c2;
    if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) return [-1, 1];
    return [cp, 3];
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const c1 = cont(1);
    const c2 = cont(2);
    const c3 = cont(3);
    if (c1 < 0 || c2 < 0 || c3 < 0) return [-1, 1];
    const cp = ((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
    if (cp < 0x10000 || cp > 0x10ffff) return [-1, 1];
    return [cp, 4];
  }
  return [-1, 1];
}
