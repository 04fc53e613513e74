//! How file names are shown: the `\`-escapes of checksum lines, and the shell quoting of
//! names in messages (what GNU's `quotef` gives in the C locale).

use alloc::vec::Vec;

/// Appends `name` with `\` as `\\`, newline as `\n` and carriage return as `\r` (the caller
/// puts the line's leading `\` first).
pub fn escape_into(out: &mut Vec<u8>, name: &[u8]) {
    for &c in name {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(c),
        }
    }
}

/// Whether a checksum line names `name` escaped (`\` first): when it has a backslash, a
/// newline or a carriage return (never with `-z`).
pub fn needs_escape(name: &[u8]) -> bool {
    name.iter().any(|&c| matches!(c, b'\\' | b'\n' | b'\r'))
}

/// Reverses [`escape_into`]: `None` for a `\` before anything but `\`, `n` or `r`, a `\` at
/// the end, or a NUL byte (a name cannot hold one).
pub fn unescape(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.iter();
    while let Some(&c) = it.next() {
        match c {
            b'\\' => out.push(match it.next()? {
                b'\\' => b'\\',
                b'n' => b'\n',
                b'r' => b'\r',
                _ => return None,
            }),
            0 => return None,
            _ => out.push(c),
        }
    }
    Some(out)
}

/// Appends `name` as a message shows it, quoted for a POSIX shell only where it must be (in
/// the C locale, where every byte outside printable ASCII is unprintable):
///
/// - bare when every byte is printable ASCII and none means something to a shell or is a
///   colon (`#` and `~` only at the start, `{` and `}` only alone, count);
/// - in double quotes when it has a single quote and besides only letters, digits, spaces
///   and `%+,-./:]_@` (and a harmless `#`/`~`/`{`/`}` as above): `"it's"`;
/// - otherwise in single quotes, a single quote as `'\''` and each run of unprintable
///   bytes as `'$'…'` with C escapes (`\n`, `\t`, ...) or three octal digits: `'a'$'\n''b'`.
pub fn quote_into(out: &mut Vec<u8>, name: &[u8]) {
    let alone = name.len() == 1;
    // A byte that is harmless at position `i`: no quoting needed for it.
    let plain = |i: usize, c: u8| match c {
        b'#' | b'~' => i != 0,
        b'{' | b'}' => !alone,
        b' ' | b'!' | b'"' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b';' | b'<' | b'='
        | b'>' | b'?' | b'[' | b'\\' | b'^' | b'`' | b'|' | b':' => false,
        0x21..=0x7e => true,
        _ => false,
    };
    if !name.is_empty() && name.iter().enumerate().all(|(i, &c)| plain(i, c)) {
        out.extend_from_slice(name);
        return;
    }
    // Safe inside double quotes, and no reason by itself to prefer single ones.
    let in_double = |i: usize, c: u8| match c {
        b'#' | b'~' => i == 0,
        b'{' | b'}' => alone,
        b' ' | b'\'' | b'%' | b'+' | b',' | b'-' | b'.' | b'/' | b':' | b']' | b'_' | b'@' => true,
        _ => c.is_ascii_alphanumeric(),
    };
    if name.contains(&b'\'') && name.iter().enumerate().all(|(i, &c)| in_double(i, c)) {
        out.push(b'"');
        out.extend_from_slice(name);
        out.push(b'"');
        return;
    }
    out.push(b'\'');
    let mut in_dollar = false;
    for &c in name {
        let esc = match c {
            7..=13 => Some(b"abtnvfr"[usize::from(c - 7)]),
            0x20..=0x7e => None,
            _ => Some(0),
        };
        match esc {
            Some(e) => {
                if !in_dollar {
                    out.extend_from_slice(b"'$'");
                    in_dollar = true;
                }
                out.push(b'\\');
                if e == 0 {
                    out.extend_from_slice(&[b'0' + (c >> 6), b'0' + (c >> 3 & 7), b'0' + (c & 7)]);
                } else {
                    out.push(e);
                }
            }
            None if c == b'\'' => {
                // Ends a `$'…'` run too: the quote closes it.
                out.extend_from_slice(b"'\\''");
                in_dollar = false;
            }
            None => {
                if in_dollar {
                    out.extend_from_slice(b"''");
                    in_dollar = false;
                }
                out.push(c);
            }
        }
    }
    out.push(b'\'');
}
