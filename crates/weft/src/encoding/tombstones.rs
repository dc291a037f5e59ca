//! An update's deleted-text section: the text of insert runs that travel
//! as tombstones (kind 1, their items deleted at the sender) where the
//! sender knows it, so a replica that was away can still show versions in
//! which that text was visible (see `docs/format.md`).

use super::{Reader, Writer};
use crate::unit::{char_to_byte, TextMetrics};
use crate::DecodeError;

/// Starts the section. The authors section, which may follow the
/// operations instead, starts with its claim count, never 0.
const MARK: u8 = 0;

/// Writes the section for the tombstone runs (kind 1, in section order)
/// whose texts are `texts`, `None` where unknown; nothing when none is
/// known (so updates without deleted text are as before).
pub fn write<'a>(w: &mut Writer, texts: impl Iterator<Item = Option<&'a str>>) {
    let mut runs = Writer::default();
    let mut text = String::new();
    // Alternating counts of runs with text and without, from "with".
    let (mut known, mut count, mut any) = (true, 0u64, false);
    for t in texts {
        if t.is_some() != known {
            runs.uvar(count);
            (known, count) = (!known, 0);
        }
        count += 1;
        if let Some(t) = t {
            text.push_str(t);
            any = true;
        }
    }
    if !any {
        return;
    }
    runs.uvar(count);
    w.bytes(&[MARK]);
    w.column(&runs.into_bytes());
    w.column(text.as_bytes());
}

/// Reads the section if there is one, for tombstone runs of lengths
/// `lens` (kind 1, in section order): per run, its text or `None`. Empty
/// when the section is absent.
///
/// # Errors
/// `InvalidValue` when the counts do not add up to the runs or a text is
/// not exactly its run's length in code points.
pub fn read(
    r: &mut Reader,
    lens: impl ExactSizeIterator<Item = u32>,
) -> Result<Vec<Option<String>>, DecodeError> {
    if r.rest().first() != Some(&MARK) {
        return Ok(Vec::new());
    }
    r.u8()?;
    let counts = r.column()?;
    let text = r.column()?;
    let mut counts = counts.reader();
    let mut text = std::str::from_utf8(text.bytes()).map_err(|_| DecodeError::InvalidUtf8)?;
    let invalid = DecodeError::InvalidValue("deleted text of tombstone runs");
    let mut out = Vec::with_capacity(lens.len());
    let (mut known, mut left, mut first) = (false, 0u64, true);
    for len in lens {
        while left == 0 {
            left = counts.uvar()?;
            known = !known || first;
            if left == 0 && !first {
                return Err(invalid);
            }
            first = false;
        }
        left -= 1;
        out.push(if known {
            let b = char_to_byte(text, len as usize);
            let (head, tail) = text.split_at(b);
            if TextMetrics::of(head).chars != len {
                return Err(invalid);
            }
            text = tail;
            Some(head.to_owned())
        } else {
            None
        });
    }
    if left > 0 || !text.is_empty() || !out.iter().any(Option::is_some) {
        return Err(invalid);
    }
    counts.finish()?;
    Ok(out)
}
