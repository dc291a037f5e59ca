//! What a room's stream holds, and reading it out of Redis replies without
//! trusting them: anyone who can write to Redis can write any entry.

use redis::Value;
use std::fmt;

/// What an entry carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// An update of the room (field `kind` = `u`).
    Update,
    /// A node's version of the room (field `kind` = `v`), so that the
    /// others can send what it misses.
    Version,
    /// An encrypted room's record stored by a node (field `kind` = `s`,
    /// the data its number, 8 bytes little-endian): the others read what
    /// they lack from the database.
    Sealed,
    /// Signaling: a member joined on the sender (`j`, its JSON).
    Joined,
    /// Signaling: a member left the sender (`l`, its id).
    Left,
    /// Signaling: every member on the sender (`h`, a JSON array).
    Here,
    /// Signaling: a node asks the others who is on them (`w`, empty).
    Who,
    /// Signaling: a message for a member on another node (`g`: the
    /// member's id's length, one byte, the id, then the message's JSON).
    Signal,
}

impl EntryKind {
    /// The `kind` field's value.
    pub(super) fn tag(self) -> &'static str {
        match self {
            EntryKind::Update => "u",
            EntryKind::Version => "v",
            EntryKind::Sealed => "s",
            EntryKind::Joined => "j",
            EntryKind::Left => "l",
            EntryKind::Here => "h",
            EntryKind::Who => "w",
            EntryKind::Signal => "g",
        }
    }

    fn from_tag(tag: &[u8]) -> Option<EntryKind> {
        match tag {
            b"u" => Some(EntryKind::Update),
            b"v" => Some(EntryKind::Version),
            b"s" => Some(EntryKind::Sealed),
            b"j" => Some(EntryKind::Joined),
            b"l" => Some(EntryKind::Left),
            b"h" => Some(EntryKind::Here),
            b"w" => Some(EntryKind::Who),
            b"g" => Some(EntryKind::Signal),
            _ => None,
        }
    }
}

/// An entry another node published to a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusEntry {
    /// The node that published it.
    pub node: u64,
    /// An update or a version.
    pub kind: EntryKind,
    /// The bytes published, opaque to the bus.
    pub data: Vec<u8>,
}

/// A stream entry's id, `milliseconds-sequence`, ordered as Redis orders
/// them. `0-0` is before every entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct StreamId {
    ms: u64,
    seq: u64,
}

impl StreamId {
    /// Before every entry: reading after it reads the whole stream.
    pub const ZERO: StreamId = StreamId { ms: 0, seq: 0 };

    /// The milliseconds (Redis's clock when it added the entry).
    pub fn ms(&self) -> u64 {
        self.ms
    }

    /// Parses `ms-seq` as Redis writes it.
    pub fn parse(text: &[u8]) -> Option<StreamId> {
        let text = std::str::from_utf8(text).ok()?;
        let (ms, seq) = text.split_once('-')?;
        Some(StreamId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// The field names, as published.
pub(super) const NODE: &str = "node";
pub(super) const KIND: &str = "kind";
pub(super) const DATA: &str = "data";

/// Why an entry was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Malformed {
    /// Fields are not name/value pairs of strings.
    Shape,
    /// A field the bus needs is missing.
    Missing(&'static str),
    /// The node id is not a decimal u64.
    Node,
    /// The kind is neither `u` nor `v`.
    Kind,
}

/// An entry's fields, checked: unknown fields are ignored (a later version
/// may add some), missing or bad ones make it [`Malformed`].
pub(super) fn parse_fields(fields: &Value) -> Result<BusEntry, Malformed> {
    let mut node = None;
    let mut kind = None;
    let mut data = None;
    for (name, value) in pairs(fields).ok_or(Malformed::Shape)? {
        let value = bytes(value).ok_or(Malformed::Shape)?;
        match bytes(name).ok_or(Malformed::Shape)? {
            b"node" => node = Some(value),
            b"kind" => kind = Some(value),
            b"data" => data = Some(value),
            _ => {}
        }
    }
    let node = node.ok_or(Malformed::Missing(NODE))?;
    let node = std::str::from_utf8(node)
        .ok()
        .and_then(|n| n.parse().ok())
        .ok_or(Malformed::Node)?;
    let kind = kind.ok_or(Malformed::Missing(KIND))?;
    let kind = EntryKind::from_tag(kind).ok_or(Malformed::Kind)?;
    let data = data.ok_or(Malformed::Missing(DATA))?.to_vec();
    Ok(BusEntry { node, kind, data })
}

/// A stream's entries in an XREAD or XRANGE reply: `[id, fields]` each;
/// an entry whose id does not parse is left out (Redis writes every id).
pub(super) fn entries(reply: &Value) -> Vec<(StreamId, &Value)> {
    let Value::Array(entries) = reply else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| match entry {
            Value::Array(pair) if pair.len() == 2 => {
                Some((StreamId::parse(bytes(&pair[0])?)?, &pair[1]))
            }
            _ => None,
        })
        .collect()
}

/// An XREAD reply's streams, `(key, entries)`: an array of pairs in
/// RESP2, a map in RESP3; nothing when it timed out (nil).
pub(super) fn streams(reply: &Value) -> Vec<(&[u8], &Value)> {
    let Some(streams) = pairs_or_array_of_pairs(reply) else {
        return Vec::new();
    };
    streams
        .into_iter()
        .filter_map(|(key, entries)| Some((bytes(key)?, entries)))
        .collect()
}

/// Name/value pairs: a flat array `[n1, v1, n2, v2...]` or a map.
fn pairs(value: &Value) -> Option<Vec<(&Value, &Value)>> {
    match value {
        Value::Array(flat) if flat.len() % 2 == 0 => {
            Some(flat.chunks(2).map(|p| (&p[0], &p[1])).collect())
        }
        Value::Map(map) => Some(map.iter().map(|(n, v)| (n, v)).collect()),
        _ => None,
    }
}

/// Pairs as an array of two-element arrays, or a map.
fn pairs_or_array_of_pairs(value: &Value) -> Option<Vec<(&Value, &Value)>> {
    match value {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|item| match item {
                    Value::Array(pair) if pair.len() == 2 => Some((&pair[0], &pair[1])),
                    _ => None,
                })
                .collect(),
        ),
        Value::Map(map) => Some(map.iter().map(|(k, v)| (k, v)).collect()),
        _ => None,
    }
}

fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &[u8]) -> Value {
        Value::BulkString(text.to_vec())
    }

    fn fields(pairs: &[(&[u8], &[u8])]) -> Value {
        Value::Array(pairs.iter().flat_map(|(n, v)| [bulk(n), bulk(v)]).collect())
    }

    #[test]
    fn a_well_formed_entry_parses_and_ignores_unknown_fields() {
        let entry = fields(&[
            (b"node", b"18446744073709551615"),
            (b"later", b"x"),
            (b"kind", b"v"),
            (b"data", &[0, 255, 1]),
        ]);
        assert_eq!(
            parse_fields(&entry),
            Ok(BusEntry {
                node: u64::MAX,
                kind: EntryKind::Version,
                data: vec![0, 255, 1]
            })
        );
    }

    #[test]
    fn malformed_entries_say_why() {
        let cases: [(Value, Malformed); 7] = [
            (
                fields(&[(b"kind", b"u"), (b"data", b"")]),
                Malformed::Missing(NODE),
            ),
            (
                fields(&[(b"node", b"1"), (b"data", b"")]),
                Malformed::Missing(KIND),
            ),
            (
                fields(&[(b"node", b"1"), (b"kind", b"u")]),
                Malformed::Missing(DATA),
            ),
            (
                fields(&[(b"node", b"-1"), (b"kind", b"u"), (b"data", b"")]),
                Malformed::Node,
            ),
            (
                fields(&[(b"node", b"1"), (b"kind", b"x"), (b"data", b"")]),
                Malformed::Kind,
            ),
            (Value::Array(vec![bulk(b"node")]), Malformed::Shape),
            (Value::Int(3), Malformed::Shape),
        ];
        for (entry, why) in cases {
            assert_eq!(parse_fields(&entry), Err(why), "{entry:?}");
        }
    }

    #[test]
    fn stream_ids_order_numerically() {
        let a = StreamId::parse(b"9-5").unwrap();
        let b = StreamId::parse(b"10-0").unwrap();
        assert!(StreamId::ZERO < a && a < b);
        assert_eq!(b.to_string(), "10-0");
        for bad in [&b""[..], b"1", b"1-", b"-1", b"a-1", b"1-2-3"] {
            assert_eq!(StreamId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn replies_of_odd_shapes_yield_nothing_rather_than_fail() {
        assert!(streams(&Value::Nil).is_empty());
        assert!(entries(&Value::Int(1)).is_empty());
        let reply = Value::Array(vec![
            Value::Int(1),
            Value::Array(vec![
                bulk(b"k"),
                Value::Array(vec![
                    Value::Array(vec![bulk(b"nonsense"), Value::Nil]),
                    Value::Array(vec![bulk(b"5-1"), Value::Nil]),
                ]),
            ]),
        ]);
        let streams = streams(&reply);
        assert_eq!(streams.len(), 1);
        let entries = entries(streams[0].1);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0.to_string(), "5-1");
    }
}
