//! A snapshot's spans in pages: a directory of what each page holds, then
//! each page's spans in a column of its own (see `docs/format.md`). Loading
//! reads the directory and keeps the pages as stored; a page is decoded when
//! an edit first touches it (`Doc::thaw`).

use super::{Reader, Writer};
use crate::content::{Span, MAX_SPAN_LEN};
use crate::unit::char_to_byte;
use crate::DecodeError;

/// Most spans a page holds (small under `cfg(test)` so tests make many).
pub const PAGE_SPANS: usize = if cfg!(test) { 5 } else { 2048 };

/// What the directory says of a page: its spans, items, visible characters
/// and the UTF-8 bytes of their text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageEntry {
    pub spans: u32,
    pub items: u32,
    pub chars: u32,
    pub bytes: u32,
}

/// Writes `spans` (maximal, in document order, agents numbered as in the
/// replica table) in pages: the span count, the page count, the directory,
/// then one column per page. `text` is the visible text of all of them.
/// Returns the byte length of each page's text.
pub fn write(w: &mut Writer, spans: &[Span], mut text: &str, agents: usize) -> Vec<usize> {
    w.uvar(spans.len() as u64);
    let pages: Vec<&[Span]> = spans.chunks(PAGE_SPANS).collect();
    w.uvar(pages.len() as u64);
    let mut page_bytes = Vec::with_capacity(pages.len());
    for page in &pages {
        let chars: u32 = page.iter().map(|s| s.visible()).sum();
        let bytes = char_to_byte(text, chars as usize);
        text = &text[bytes..];
        page_bytes.push(bytes);
        for v in [
            page.len() as u32,
            page.iter().map(|s| s.len()).sum(),
            chars,
            bytes as u32,
        ] {
            w.uvar(u64::from(v));
        }
    }
    for page in &pages {
        w.column(&page_block(page, agents));
    }
    page_bytes
}

/// A page's spans as three runs of varints: replica pairs (`table index`,
/// `repeat`), sequence deltas from the end of the replica's previous span in
/// the page, and `len << 1 | deleted`. The first two carry their length.
fn page_block(page: &[Span], agents: usize) -> Vec<u8> {
    let mut replicas = Writer::default();
    let mut i = 0;
    while i < page.len() {
        let a = page[i].agent;
        let n = page[i..].iter().take_while(|s| s.agent == a).count();
        replicas.uvar(u64::from(a));
        replicas.uvar(n as u64);
        i += n;
    }
    let mut seqs = Writer::default();
    let mut lens = Writer::default();
    let mut last_end = vec![0u32; agents];
    for s in page {
        seqs.svar(i64::from(s.seq) - i64::from(last_end[s.agent as usize]));
        last_end[s.agent as usize] = s.end_seq();
        lens.uvar((u64::from(s.len()) << 1) | u64::from(s.deleted()));
    }
    let mut block = Writer::default();
    for part in [replicas, seqs] {
        let part = part.into_bytes();
        block.uvar(part.len() as u64);
        block.bytes(&part);
    }
    block.bytes(&lens.into_bytes());
    block.into_bytes()
}

/// Reads the span count, page count and directory, and checks them against
/// each other: every page holds at least one span, no more visible
/// characters than items, and the pages hold the span count between them.
pub fn read_directory(r: &mut Reader) -> Result<Vec<PageEntry>, DecodeError> {
    let spans = r.uvar()?;
    // A directory entry takes at least four bytes, a page column one more.
    let n = r.len_prefix(5)?;
    let mut pages = Vec::with_capacity(n);
    let mut total = 0u64;
    for _ in 0..n {
        let e = PageEntry {
            spans: r.u32var()?,
            items: r.u32var()?,
            chars: r.u32var()?,
            bytes: r.u32var()?,
        };
        if e.spans == 0 || e.items < e.spans || e.chars > e.items || e.bytes < e.chars {
            return Err(DecodeError::InvalidValue("snapshot page"));
        }
        total += u64::from(e.spans);
        pages.push(e);
    }
    if total != spans {
        return Err(DecodeError::InvalidValue("snapshot page span counts"));
    }
    Ok(pages)
}

/// Decodes a page's column (as stored, tag included) into its spans,
/// checking each against the replicas' operation counts `ends` and the
/// page against its directory entry. (The spans of all pages were checked
/// against the snapshot's bytes when it was loaded: `snapshot::check_budget`.)
pub fn decode(column: &[u8], entry: PageEntry, ends: &[u32]) -> Result<Vec<Span>, DecodeError> {
    let mut outer = Reader::new(column);
    let block = outer.column()?;
    outer.finish()?;
    let mut r = block.reader();
    let n = r.len_prefix(0)?;
    let mut replicas = Reader::new(r.take(n)?);
    let n = r.len_prefix(0)?;
    let mut seqs = Reader::new(r.take(n)?);
    let mut lens = r;
    let count = entry.spans as usize;
    // Each span takes at least a byte of lengths: bounds the allocation.
    if count > lens.remaining() {
        return Err(DecodeError::InvalidValue("snapshot page span count"));
    }
    let mut spans = Vec::with_capacity(count);
    let mut last_end = vec![0u32; ends.len()];
    let (mut items, mut chars) = (0u64, 0u64);
    while spans.len() < count {
        let a = replicas.u32var()?;
        let repeat = replicas.uvar()?;
        if a as usize >= ends.len() || repeat == 0 || repeat > (count - spans.len()) as u64 {
            return Err(DecodeError::InvalidValue("span replica"));
        }
        for _ in 0..repeat {
            let seq = i64::from(last_end[a as usize]) + seqs.svar()?;
            let ld = lens.uvar()?;
            let len = ld >> 1;
            if seq < 0
                || len == 0
                || len > u64::from(MAX_SPAN_LEN)
                || seq as u64 + len > u64::from(ends[a as usize])
            {
                return Err(DecodeError::InvalidValue("span"));
            }
            let span = Span::new(a, seq as u32, len as u32, ld & 1 == 1);
            last_end[a as usize] = span.end_seq();
            items += len;
            chars += u64::from(span.visible());
            spans.push(span);
        }
    }
    replicas.finish()?;
    seqs.finish()?;
    lens.finish()?;
    if items != u64::from(entry.items) || chars != u64::from(entry.chars) {
        return Err(DecodeError::InvalidValue("snapshot page sizes"));
    }
    Ok(spans)
}
