//! Encrypted rooms' rows (see `weft::sync::SealedMessage`): opaque records
//! whose keys are their sequence numbers, and at most one opaque
//! checkpoint, stored as the last record it covers (8 bytes, little
//! endian) then its bytes. They live in the same tables as the other rooms
//! under a name no room can have (room names hold no control characters),
//! so the same transactions, counters and failure handling apply.

use super::{from_sql, on_backend, to_sql, Backend, Entry, Storage, StorageError, Table, Write};

/// Prefixed to an encrypted room's name in the tables.
const PREFIX: &str = "\u{1}sealed:";

fn stored_name(room: &str) -> String {
    format!("{PREFIX}{room}")
}

/// What a client opening an encrypted room is sent.
#[derive(Debug, Default)]
pub struct SealedLoaded {
    /// The checkpoint and the last record it covers, if one covers records
    /// past those the client has.
    pub checkpoint: Option<(u64, Vec<u8>)>,
    /// The records past those and the client's, in order.
    pub records: Vec<(u64, Vec<u8>)>,
    /// The last record's number (0: none ever).
    pub last: u64,
    /// The last record the stored checkpoint covers (0: none).
    pub covers: u64,
}

impl Storage {
    /// What a client that merged the records up to `after` lacks of the
    /// encrypted room `room`, read in one transaction.
    ///
    /// # Errors
    /// [`StorageError::Read`] (also for a checkpoint row too short to hold
    /// its number), or [`StorageError::Unknown`].
    pub async fn sealed_load(&self, room: &str, after: u64) -> Result<SealedLoaded, StorageError> {
        let (pools, _) = self.usable()?;
        let name = stored_name(room);
        let read = |source| StorageError::Read {
            room: Some(room.to_owned()),
            source,
        };
        let rows =
            on_backend!(&pools, p => Backend::sealed_load(&p.reads, &name, to_sql(after)).await)
                .map_err(read)?;
        let checkpoint = match rows.checkpoint {
            None => None,
            Some(bytes) => {
                let Some((covers, body)) = bytes.split_first_chunk::<8>() else {
                    let damaged =
                        sqlx::Error::Decode("a sealed checkpoint without its number".into());
                    return Err(read(damaged));
                };
                Some((u64::from_le_bytes(*covers), body.to_vec()))
            }
        };
        let covers = checkpoint.as_ref().map_or(0, |(c, _)| *c);
        // The checkpoint replaces the records it covers (its compaction
        // deleted them in the same transaction anyway).
        let records = rows
            .records
            .into_iter()
            .map(|(k, b)| (from_sql(k), b))
            .filter(|(k, _)| *k > covers)
            .collect();
        Ok(SealedLoaded {
            checkpoint: checkpoint.filter(|(c, _)| *c > after),
            records,
            last: rows.last_record.map_or(0, from_sql).max(covers),
            covers,
        })
    }

    /// Stores `body` as the next record of the encrypted room `room`;
    /// returns its number once committed.
    ///
    /// # Errors
    /// As [`Storage::append`].
    pub async fn sealed_append(&self, room: &str, body: Vec<u8>) -> Result<u64, StorageError> {
        let write = Write {
            table: Table::Records,
            size: body.len(),
            entry: Entry::Fixed(body),
            delete_records: Vec::new(),
            delete_checkpoints: Vec::new(),
            delete_through: None,
        };
        let (seq, _) = self.write(&stored_name(room), write).await?;
        Ok(seq)
    }

    /// Stores `body` as the checkpoint of the encrypted room `room`
    /// covering the records up to `covers`, deleting them and any older
    /// checkpoint in the same transaction; unless a checkpoint stored
    /// meanwhile (by a server sharing the database) covers as much: it
    /// stands, and nothing is written.
    ///
    /// # Errors
    /// As [`Storage::append`]; nothing is deleted unless it is written.
    pub async fn sealed_compact(
        &self,
        room: &str,
        covers: u64,
        body: Vec<u8>,
    ) -> Result<(), StorageError> {
        let mut entry = covers.to_le_bytes().to_vec();
        entry.extend(body);
        let write = Write {
            table: Table::Checkpoints,
            size: entry.len(),
            entry: Entry::Fixed(entry),
            delete_records: Vec::new(),
            delete_checkpoints: Vec::new(),
            delete_through: Some(covers),
        };
        self.write(&stored_name(room), write).await?;
        Ok(())
    }
}
