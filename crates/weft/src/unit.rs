//! Index units and the text metrics every node summary is made of.

/// The unit in which an index or a length is measured. A run-time parameter:
/// the same document answers in all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexUnit {
    /// Unicode scalar values (what Rust's `chars()` yields).
    CodePoint,
    /// UTF-16 code units (what JavaScript strings and browser editors use).
    Utf16,
    /// UTF-8 bytes (what Rust's `str` indexing uses).
    Utf8,
}

impl IndexUnit {
    /// A short human name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            IndexUnit::CodePoint => "code points",
            IndexUnit::Utf16 => "UTF-16 code units",
            IndexUnit::Utf8 => "UTF-8 bytes",
        }
    }
}

/// Sizes of a piece of text in each unit, plus its newline count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextMetrics {
    pub chars: u32,
    pub utf16: u32,
    pub bytes: u32,
    pub lines: u32,
}

impl TextMetrics {
    /// Measures `s`. One pass over the bytes.
    pub fn of(s: &str) -> Self {
        let bytes = s.as_bytes();
        if let [b @ 0..0x80] = *bytes {
            // A keystroke, the commonest text measured.
            let lines = u32::from(b == b'\n');
            return TextMetrics {
                chars: 1,
                utf16: 1,
                bytes: 1,
                lines,
            };
        }
        let mut chars = 0u32;
        let mut astral = 0u32;
        let mut lines = 0u32;
        // Byte-wide counters over chunks that cannot overflow them: the
        // inner loop vectorises. (A keystroke's few bytes skip the setup.)
        let chunk_len = if bytes.len() < 32 { 1 } else { 255 };
        for chunk in bytes.chunks(chunk_len) {
            let (mut c, mut a, mut l) = (0u8, 0u8, 0u8);
            for &b in chunk {
                c += u8::from((b as i8) >= -0x40);
                a += u8::from(b >= 0xF0);
                l += u8::from(b == b'\n');
            }
            chars += u32::from(c);
            astral += u32::from(a);
            lines += u32::from(l);
        }
        TextMetrics {
            chars,
            utf16: chars + astral,
            bytes: bytes.len() as u32,
            lines,
        }
    }

    /// The size in `unit`.
    pub fn get(&self, unit: IndexUnit) -> u32 {
        match unit {
            IndexUnit::CodePoint => self.chars,
            IndexUnit::Utf16 => self.utf16,
            IndexUnit::Utf8 => self.bytes,
        }
    }
}

/// Byte offset of the `chars`-th character of `s` (or `s.len()` at the end).
/// The caller guarantees `chars` is at most the number of characters in `s`.
pub fn char_to_byte(s: &str, chars: usize) -> usize {
    if s.len() == chars {
        return chars; // ASCII-only, or at the end of a string of that many bytes
    }
    let mut seen = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if (b as i8) >= -0x40 {
            if seen == chars {
                return i;
            }
            seen += 1;
        }
    }
    s.len()
}

/// Converts an offset in `unit` within `s` to a character offset. `Err(())`
/// when the offset falls inside a character; the caller guarantees it is at
/// most the length of `s` in that unit.
pub fn unit_to_char(s: &str, offset: usize, unit: IndexUnit) -> Result<usize, ()> {
    match unit {
        IndexUnit::CodePoint => Ok(offset),
        IndexUnit::Utf8 => {
            if !s.is_char_boundary(offset) {
                return Err(());
            }
            Ok(TextMetrics::of(&s[..offset]).chars as usize)
        }
        IndexUnit::Utf16 => {
            let mut units = 0;
            for (chars, c) in s.chars().enumerate() {
                if units == offset {
                    return Ok(chars);
                }
                units += c.len_utf16();
                if units > offset {
                    return Err(());
                }
            }
            Ok(TextMetrics::of(s).chars as usize)
        }
    }
}

/// Byte offset just after the `n`-th newline (0-based) in `s`, if there is one.
pub fn after_nth_newline(s: &str, n: usize) -> Option<usize> {
    s.bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'\n')
        .nth(n)
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_count_every_unit() {
        let m = TextMetrics::of("a\u{e9}\n\u{1F600}");
        assert_eq!(
            m,
            TextMetrics {
                chars: 4,
                utf16: 5,
                bytes: 8,
                lines: 1
            }
        );
    }

    #[test]
    fn unit_offsets_inside_characters_are_rejected() {
        let s = "a\u{1F600}b";
        assert_eq!(unit_to_char(s, 2, IndexUnit::Utf16), Err(()));
        assert_eq!(unit_to_char(s, 3, IndexUnit::Utf16), Ok(2));
        assert_eq!(unit_to_char(s, 2, IndexUnit::Utf8), Err(()));
        assert_eq!(unit_to_char(s, 5, IndexUnit::Utf8), Ok(2));
        assert_eq!(char_to_byte(s, 2), 5);
    }
}
