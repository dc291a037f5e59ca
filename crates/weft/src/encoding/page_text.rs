//! A snapshot's text, in its pages (see `docs/format.md`).
//!
//! Snapshots write each page's text in a column of its own, with the sizes
//! the tree needs (UTF-16 units, newlines): loading inflates only the
//! pages within the first 32 KiB of the text (the dictionary the others
//! and the deleted text are deflated with) and keeps the others as stored
//! (`ColdText`) until something reads them. Older snapshots hold the text
//! in one column: it is cut into the pages' texts as it inflates, so it is
//! written to memory once.

use super::pages::PageEntry;
use super::{Packed, Reader, Writer, WINDOW};
use crate::content::{ColdText, MAX_SPAN_LEN};
use crate::deleted::dictionary_len;
use crate::unit::TextMetrics;
use crate::{DecodeError, Error};
use std::sync::Arc;

/// The byte that starts the pages' texts where older snapshots hold their
/// one text column: no column starts with it (a deflated column of no
/// bytes cannot hold its length).
pub const PAGED: u8 = 1;

/// A page's text as loading leaves it: read, or still deflated.
pub type PageText = (String, Option<ColdText>);

/// A page's text to write: read, or still as stored (past the dictionary,
/// deflated with the same text's first 32 KiB: written as it is).
pub enum PageOut<'a> {
    Text(&'a str),
    Stored(&'a ColdText),
}

impl PageOut<'_> {
    /// Its length in UTF-8 bytes.
    pub fn bytes(&self) -> usize {
        match self {
            PageOut::Text(t) => t.len(),
            PageOut::Stored(cold) => cold.metrics().bytes as usize,
        }
    }
}

/// Writes the texts of `pages`: the mark, then per page its sizes
/// (`utf16 − chars`, `lines`; only past the dictionary: pages within it
/// are read at load) and a column deflated with the dictionary: the text
/// before it, up to 32 KiB.
pub fn write<'a>(w: &mut Writer, pages: impl IntoIterator<Item = PageOut<'a>>) {
    w.bytes(&[PAGED]);
    let mut dict = Vec::new();
    let mut at = 0;
    for page in pages {
        if at >= WINDOW {
            let m = match &page {
                PageOut::Text(t) => TextMetrics::of(t),
                PageOut::Stored(cold) => cold.metrics(),
            };
            w.uvar(u64::from(m.utf16 - m.chars));
            w.uvar(u64::from(m.lines));
        }
        at += page.bytes();
        match page {
            PageOut::Text(t) => {
                w.bytes(&Writer::column_primed(t.as_bytes(), 0, &dict));
                let room = WINDOW.saturating_sub(dict.len()).min(t.len());
                dict.extend_from_slice(&t.as_bytes()[..room]);
            }
            PageOut::Stored(cold) => w.bytes(cold.column()),
        }
    }
}

/// A snapshot's text as stored: one column (older snapshots), or per page
/// a column with the sizes of its text.
pub enum Stored<'a> {
    Whole(&'a [u8]),
    /// Per page its column, and its sizes past the dictionary.
    Paged(Vec<(&'a [u8], Option<TextMetrics>)>),
}

/// Reads the text of a snapshot whose pages are `directory`, as stored,
/// checking each page's declared sizes against its directory entry and
/// its column's declared length against its bytes: nothing is allocated
/// for the text yet.
pub fn read_stored<'a>(r: &mut Reader<'a>, directory: &[PageEntry]) -> Result<Stored<'a>, Error> {
    if r.rest().first() != Some(&PAGED) {
        return Ok(Stored::Whole(r.raw_column()?));
    }
    r.u8()?;
    let total: u64 = directory.iter().map(|e| u64::from(e.bytes)).sum();
    if total > u64::from(MAX_SPAN_LEN) {
        return Err(Error::DocumentTooLarge);
    }
    let mut pages = Vec::with_capacity(directory.len());
    let mut at = 0u64;
    for e in directory {
        let metrics = (at >= WINDOW as u64)
            .then(|| read_sizes(r, e))
            .transpose()?;
        at += u64::from(e.bytes);
        let column = r.raw_column()?;
        let declared = match Reader::new(column).column_parts()? {
            Packed::Stored(b) => b.len(),
            Packed::Deflated { len, .. } => len,
        };
        if declared != e.bytes as usize {
            return Err(DecodeError::InvalidValue("snapshot text length").into());
        }
        pages.push((column, metrics));
    }
    Ok(Stored::Paged(pages))
}

impl Stored<'_> {
    /// The pages' texts, with the dictionary (the text's first bytes, up
    /// to 32 KiB). One column is inflated whole (see `read_whole`); of
    /// per-page columns, those starting within the dictionary are inflated
    /// and checked now, the others kept as stored.
    pub fn open(self, directory: &[PageEntry]) -> Result<(Vec<PageText>, Vec<u8>), DecodeError> {
        let pages = match self {
            Stored::Whole(column) => {
                let (texts, dict) = read_whole(column, directory)?;
                return Ok((texts.into_iter().map(|t| (t, None)).collect(), dict));
            }
            Stored::Paged(pages) => pages,
        };
        let total: u64 = directory.iter().map(|e| u64::from(e.bytes)).sum();
        let dict_len = dictionary_len(total);
        let mut dict = Vec::with_capacity(dict_len);
        let mut shared: Option<Arc<[u8]>> = None;
        let mut texts = Vec::with_capacity(pages.len());
        for ((column, metrics), e) in pages.into_iter().zip(directory) {
            let metrics = match metrics {
                // Past the dictionary: kept as stored, unless empty
                // (nothing to inflate, but the column is checked).
                Some(m) if e.bytes > 0 => {
                    let dict = shared.get_or_insert_with(|| dict.as_slice().into());
                    texts.push((String::new(), Some(ColdText::new(column, dict.clone(), m))));
                    continue;
                }
                m => m,
            };
            let text = inflate(column, &dict, e.bytes, e.chars)?;
            if metrics.is_some_and(|m| m != TextMetrics::of(&text)) {
                return Err(DecodeError::InvalidValue("snapshot page text"));
            }
            let room = dict_len - dict.len();
            dict.extend_from_slice(&text.as_bytes()[..text.len().min(room)]);
            texts.push((text, None));
        }
        Ok((texts, dict))
    }
}

/// A page's sizes: its directory entry's, with the UTF-16 units and
/// newlines that follow. They must be those of some text: newlines and
/// characters outside the Basic Multilingual Plane are characters, each
/// character takes 1 to 3 bytes (4 outside the plane, 1 a newline).
fn read_sizes(r: &mut Reader, e: &PageEntry) -> Result<TextMetrics, DecodeError> {
    let astral = u64::from(r.u32var()?);
    let lines = u64::from(r.u32var()?);
    let (chars, bytes) = (u64::from(e.chars), u64::from(e.bytes));
    let bmp = chars.saturating_sub(astral + lines);
    if astral + lines > chars || bytes < chars + 3 * astral || bytes > 3 * bmp + lines + 4 * astral
    {
        return Err(DecodeError::InvalidValue("snapshot page text sizes"));
    }
    Ok(TextMetrics {
        chars: e.chars,
        utf16: e.chars + astral as u32,
        bytes: e.bytes,
        lines: lines as u32,
    })
}

/// A page's text column (tag included) deflated with `dict`, inflated and
/// checked against `metrics`.
pub fn inflate_page(
    column: &[u8],
    dict: &[u8],
    metrics: TextMetrics,
) -> Result<String, DecodeError> {
    let text = inflate(column, dict, metrics.bytes, metrics.chars)?;
    if TextMetrics::of(&text) != metrics {
        return Err(DecodeError::InvalidValue("snapshot page text"));
    }
    Ok(text)
}

/// A page's text column (tag included) deflated with `dict`, inflated and
/// checked to be UTF-8 of `bytes` bytes and `chars` characters.
fn inflate(column: &[u8], dict: &[u8], bytes: u32, chars: u32) -> Result<String, DecodeError> {
    let mut r = Reader::new(column);
    let text = r.column_primed(dict)?.into_vec();
    r.finish()?;
    checked_text(text, bytes, chars)
}

/// The texts of the pages of `directory`, from the text column `column`
/// (as stored, tag included): each the next `bytes` of the text, UTF-8 of
/// exactly `chars` code points; with the text's first bytes, the deleted
/// text's dictionary. The column must declare as many bytes as the
/// directory: checked before a page is allocated, so the pages take no more
/// than the declaration, itself checked against the bytes stored
/// (`INFLATE_RATIO`).
pub fn read_whole(
    column: &[u8],
    directory: &[PageEntry],
) -> Result<(Vec<String>, Vec<u8>), DecodeError> {
    let total: u64 = directory.iter().map(|e| u64::from(e.bytes)).sum();
    let declared = match Reader::new(column).column_parts()? {
        Packed::Stored(b) => b.len(),
        Packed::Deflated { len, .. } => len,
    };
    if declared as u64 != total {
        return Err(DecodeError::InvalidValue("snapshot text length"));
    }
    let dict_len = dictionary_len(total);
    let mut dict = Vec::with_capacity(dict_len);
    let mut pages: Vec<Vec<u8>> = Vec::with_capacity(directory.len());
    let mut entries = directory.iter();
    let mut room = 0;
    let mut r = Reader::new(column);
    r.column_in_pieces(|mut piece| {
        let wanted = dict_len - dict.len();
        dict.extend_from_slice(&piece[..piece.len().min(wanted)]);
        while !piece.is_empty() {
            if room == 0 {
                // Not reached: the pages hold the declared length, which
                // the column is checked not to exceed.
                let e = entries
                    .next()
                    .ok_or(DecodeError::InvalidValue("snapshot text length"))?;
                room = e.bytes as usize;
                pages.push(Vec::with_capacity(room));
                continue;
            }
            let n = room.min(piece.len());
            let page = pages.last_mut().expect("a page has room");
            page.extend_from_slice(&piece[..n]);
            piece = &piece[n..];
            room -= n;
        }
        Ok(())
    })?;
    r.finish()?;
    // Pages of no text after the last that has some.
    pages.extend(entries.map(|_| Vec::new()));
    let texts = pages
        .into_iter()
        .zip(directory)
        .map(|(bytes, e)| checked_text(bytes, e.bytes, e.chars))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((texts, dict))
}

/// A page's bytes as its text, checked to be `len` bytes of `chars`
/// characters.
fn checked_text(bytes: Vec<u8>, len: u32, chars: u32) -> Result<String, DecodeError> {
    let bad = DecodeError::InvalidValue("snapshot page text");
    if bytes.len() != len as usize {
        return Err(bad);
    }
    let text = String::from_utf8(bytes).map_err(|err| {
        // Cut inside a character (valid as far as it goes) is a page
        // boundary in the wrong place; anything else is not UTF-8.
        if err.utf8_error().error_len().is_none() {
            DecodeError::InvalidValue("snapshot page text")
        } else {
            DecodeError::InvalidUtf8
        }
    })?;
    if TextMetrics::of(&text).chars != chars {
        return Err(bad);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Writer;

    fn entry(chars: u32, bytes: u32) -> PageEntry {
        PageEntry {
            spans: 1,
            items: chars.max(1),
            chars,
            bytes,
        }
    }

    fn read_text(text: &[u8], directory: &[PageEntry]) -> Result<Vec<String>, DecodeError> {
        read_whole(&Writer::column_bytes(text, 0), directory).map(|(texts, _)| texts)
    }

    #[test]
    fn pages_take_their_text_in_order() {
        // Deflated (long) and stored (short); an empty page between.
        let long = "é".repeat(20_000) + "abc";
        let dir = [entry(10_000, 20_000), entry(0, 0), entry(10_003, 20_003)];
        let (texts, dict) = read_whole(&Writer::column_bytes(long.as_bytes(), 0), &dir).unwrap();
        assert_eq!(texts.concat(), long);
        assert_eq!(texts[1], "");
        assert_eq!(dict, crate::deleted::dictionary(&long));
        let dir = [entry(1, 2), entry(2, 2)];
        assert_eq!(read_text("éab".as_bytes(), &dir).unwrap(), ["é", "ab"]);
    }

    #[test]
    fn text_unlike_its_directory_is_refused_with_typed_errors() {
        let page = DecodeError::InvalidValue("snapshot page text");
        // Text and directory of different lengths are refused before a
        // page is allocated.
        let length = DecodeError::InvalidValue("snapshot text length");
        let cases: [(&[u8], &[PageEntry], DecodeError); 6] = [
            // A page boundary inside "é".
            ("éa".as_bytes(), &[entry(1, 1), entry(1, 2)], page.clone()),
            (b"a\xffb", &[entry(3, 3)], DecodeError::InvalidUtf8),
            (b"abc", &[entry(2, 3)], page),
            (b"ab", &[entry(3, 3)], length.clone()),
            (
                b"ab",
                &[entry(1, 1), entry(0, 0), entry(1, 1), entry(1, 1)],
                length.clone(),
            ),
            (b"abcd", &[entry(3, 3)], length),
        ];
        for (text, dir, error) in cases {
            assert_eq!(read_text(text, dir), Err(error), "{text:?}");
        }
    }
}
