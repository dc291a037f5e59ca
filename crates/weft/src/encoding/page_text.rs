//! A snapshot's text cut into its pages' texts as it inflates: each page
//! keeps its own, so the text is written to memory once at load, not
//! inflated whole and then copied page by page (a large document's load
//! waits on both, and on the memory they touch).

use super::pages::PageEntry;
use super::{Packed, Reader};
use crate::deleted::dictionary_len;
use crate::unit::TextMetrics;
use crate::DecodeError;

/// The texts of the pages of `directory`, from the text column `column`
/// (as stored, tag included): each the next `bytes` of the text, UTF-8 of
/// exactly `chars` code points; with the text's first bytes, the deleted
/// text's dictionary. The column must declare as many bytes as the
/// directory: checked before a page is allocated, so the pages take no more
/// than the declaration, itself checked against the bytes stored
/// (`INFLATE_RATIO`).
pub fn read(column: &[u8], directory: &[PageEntry]) -> Result<(Vec<String>, Vec<u8>), DecodeError> {
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
        .map(|(bytes, e)| page_text(bytes, e))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((texts, dict))
}

/// A page's bytes as its text, checked against its directory entry.
fn page_text(bytes: Vec<u8>, e: &PageEntry) -> Result<String, DecodeError> {
    let bad = DecodeError::InvalidValue("snapshot page text");
    if bytes.len() != e.bytes as usize {
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
    if TextMetrics::of(&text).chars != e.chars {
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
        read(&Writer::column_bytes(text, 0), directory).map(|(texts, _)| texts)
    }

    #[test]
    fn pages_take_their_text_in_order() {
        // Deflated (long) and stored (short); an empty page between.
        let long = "é".repeat(20_000) + "abc";
        let dir = [entry(10_000, 20_000), entry(0, 0), entry(10_003, 20_003)];
        let (texts, dict) = read(&Writer::column_bytes(long.as_bytes(), 0), &dir).unwrap();
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
