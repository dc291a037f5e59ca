//! A cold page's text kept as stored (a deflated column) until something
//! reads it: loading a large snapshot then inflates only the pages an edit
//! or a read touches. The text is inflated once, through `&self` (reads stay
//! `&self`), and checked against the sizes the snapshot's directory gives
//! for it; a page that fails the check fails every read that touches it.

use crate::encoding::page_text;
use crate::unit::TextMetrics;
use crate::DecodeError;
use std::cell::OnceCell;
use std::sync::Arc;

/// A page's text as stored: its column, the dictionary it was deflated
/// with (shared by the pages), and its sizes as the directory declares them.
#[derive(Debug, Clone)]
pub struct ColdText {
    column: Box<[u8]>,
    dict: Arc<[u8]>,
    metrics: TextMetrics,
    /// The text once inflated and checked, or why it is not valid.
    text: OnceCell<Result<String, DecodeError>>,
}

impl ColdText {
    /// A page's text column (tag included) deflated with `dict`, of the
    /// sizes `metrics` (checked when inflated).
    pub fn new(column: &[u8], dict: Arc<[u8]>, metrics: TextMetrics) -> Self {
        ColdText {
            column: column.into(),
            dict,
            metrics,
            text: OnceCell::new(),
        }
    }

    /// The column as stored (tag included): what a snapshot of the
    /// unchanged document writes again.
    pub fn column(&self) -> &[u8] {
        &self.column
    }

    /// The sizes the directory declares.
    pub fn metrics(&self) -> TextMetrics {
        self.metrics
    }

    /// The text, inflated and checked on first use.
    pub fn get(&self) -> Result<&str, DecodeError> {
        self.text
            .get_or_init(|| page_text::inflate_page(&self.column, &self.dict, self.metrics))
            .as_deref()
            .map_err(Clone::clone)
    }

    /// Checks the text as `get` does, without keeping it when it was not
    /// read yet (writing the page as stored needs it valid, not in memory).
    pub fn check(&self) -> Result<(), DecodeError> {
        match self.text.get() {
            Some(read) => read.as_ref().map(drop).map_err(Clone::clone),
            None => page_text::inflate_page(&self.column, &self.dict, self.metrics).map(drop),
        }
    }

    /// The text if it was read and found valid.
    pub fn if_read(&self) -> Option<&str> {
        self.text.get()?.as_deref().ok()
    }

    /// The text, which `get` found valid (empty otherwise).
    pub fn into_text(self) -> String {
        let text = self.text.into_inner().and_then(Result::ok);
        debug_assert!(
            text.is_some(),
            "a cold page thawed before its text was read"
        );
        text.unwrap_or_default()
    }

    pub fn heap_bytes(&self) -> usize {
        let inflated = match self.text.get() {
            Some(Ok(t)) => t.capacity(),
            _ => 0,
        };
        self.column.len() + inflated
    }
}

#[cfg(test)]
impl super::Tree {
    /// Cold pages whose text was not read yet.
    pub fn unread_pages(&self) -> usize {
        self.leaves
            .iter()
            .filter_map(|l| l.cold.as_ref()?.text.as_ref())
            .filter(|t| t.text.get().is_none())
            .count()
    }
}
