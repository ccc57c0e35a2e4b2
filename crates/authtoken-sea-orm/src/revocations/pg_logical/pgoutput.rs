//! The few `pgoutput` messages the logical channel reads (protocol version 1): a table's
//! description (`R`), a deleted row (`D`) and a `TRUNCATE` (`T`). Everything else in the stream
//! (inserts and updates are not published; begin, commit and logical messages arrive already
//! parsed) is skipped.

use std::collections::HashMap;

/// What one stream message means for the token table.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Change {
    /// The token table's row with this key is gone.
    Deleted(String),
    /// A row of the token table is gone but its key is not in the message (the table's replica
    /// identity does not include the key column): anything may be gone.
    DeletedUnknown,
    /// The token table was truncated.
    Truncated,
    /// Nothing about the token table.
    Other,
}

/// Where the key is in a table's rows, from its `Relation` message.
#[derive(Debug, Clone, Copy)]
struct TokenTable {
    key_column: Option<usize>,
}

/// Reads the stream's messages for one table (`schema`, `table`) and key column, remembering
/// the table descriptions the server sends before a table's first change in each session.
#[derive(Debug)]
pub(super) struct Decoder {
    schema: String,
    table: String,
    key_column: String,
    tables: HashMap<u32, TokenTable>,
}

/// A message that does not parse: the stream is not what this code reads.
#[derive(Debug)]
pub(super) struct Malformed(pub &'static str);

impl Decoder {
    /// A decoder for `schema.table`'s `key_column`.
    pub(super) fn new(schema: &str, table: &str, key_column: &str) -> Self {
        Self {
            schema: schema.to_owned(),
            table: table.to_owned(),
            key_column: key_column.to_owned(),
            tables: HashMap::new(),
        }
    }

    /// Reads one `XLogData` payload.
    pub(super) fn read(&mut self, message: &[u8]) -> Result<Change, Malformed> {
        let mut reader = Reader(message);
        match reader.u8()? {
            b'R' => {
                self.relation(&mut reader)?;
                Ok(Change::Other)
            }
            b'D' => self.delete(&mut reader),
            b'T' => self.truncate(&mut reader),
            _ => Ok(Change::Other),
        }
    }

    fn relation(&mut self, reader: &mut Reader<'_>) -> Result<(), Malformed> {
        let id = reader.u32()?;
        let schema = reader.string()?;
        let table = reader.string()?;
        let _replica_identity = reader.u8()?;
        let columns = reader.u16()?;
        let mut key_column = None;
        for index in 0..usize::from(columns) {
            let _flags = reader.u8()?;
            let name = reader.string()?;
            let _type = reader.u32()?;
            let _modifier = reader.u32()?;
            if name == self.key_column {
                key_column = Some(index);
            }
        }
        if schema == self.schema && table == self.table {
            self.tables.insert(id, TokenTable { key_column });
        } else {
            self.tables.remove(&id);
        }
        Ok(())
    }

    fn delete(&mut self, reader: &mut Reader<'_>) -> Result<Change, Malformed> {
        let id = reader.u32()?;
        let Some(table) = self.tables.get(&id).copied() else {
            return Ok(Change::Other);
        };
        // `K`: the replica identity's columns; `O`: the whole old row (`REPLICA IDENTITY FULL`).
        match reader.u8()? {
            b'K' | b'O' => {}
            _ => return Err(Malformed("a delete without its old row")),
        }
        let Some(key_column) = table.key_column else { return Ok(Change::DeletedUnknown) };
        let columns = usize::from(reader.u16()?);
        for index in 0..columns {
            let value = reader.column()?;
            if index == key_column {
                return Ok(match value {
                    Some(key) => Change::Deleted(
                        String::from_utf8(key.to_vec())
                            .map_err(|_| Malformed("a key that is not UTF-8"))?,
                    ),
                    None => Change::DeletedUnknown,
                });
            }
        }
        Ok(Change::DeletedUnknown)
    }

    fn truncate(&mut self, reader: &mut Reader<'_>) -> Result<Change, Malformed> {
        let count = reader.u32()?;
        let _options = reader.u8()?;
        let mut ours = false;
        for _ in 0..count {
            ours |= self.tables.contains_key(&reader.u32()?);
        }
        Ok(if ours { Change::Truncated } else { Change::Other })
    }
}

/// A cursor over a message, every read checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if self.0.len() < n {
            return Err(Malformed("a message cut short"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Malformed> {
        let bytes = self.take(2)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        let bytes = self.take(4)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn string(&mut self) -> Result<String, Malformed> {
        let end =
            self.0.iter().position(|&b| b == 0).ok_or(Malformed("a string without its end"))?;
        let text = std::str::from_utf8(&self.0[..end])
            .map_err(|_| Malformed("a name that is not UTF-8"))?
            .to_owned();
        self.0 = &self.0[end + 1..];
        Ok(text)
    }

    /// One column of a row: `n` null, `u` an unchanged TOAST value (no value sent), `t` text.
    fn column(&mut self) -> Result<Option<&'a [u8]>, Malformed> {
        match self.u8()? {
            b'n' | b'u' => Ok(None),
            b't' | b'b' => {
                let length = self.u32()? as usize;
                Ok(Some(self.take(length)?))
            }
            _ => Err(Malformed("a column of an unknown kind")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(id: u32, schema: &str, table: &str, columns: &[&str]) -> Vec<u8> {
        let mut message = vec![b'R'];
        message.extend(id.to_be_bytes());
        for name in [schema, table] {
            message.extend(name.as_bytes());
            message.push(0);
        }
        message.push(b'd');
        message.extend((columns.len() as u16).to_be_bytes());
        for (index, name) in columns.iter().enumerate() {
            message.push(u8::from(index == 0));
            message.extend(name.as_bytes());
            message.push(0);
            message.extend(25u32.to_be_bytes());
            message.extend((-1i32).to_be_bytes());
        }
        message
    }

    fn delete(id: u32, values: &[Option<&str>]) -> Vec<u8> {
        let mut message = vec![b'D'];
        message.extend(id.to_be_bytes());
        message.push(b'K');
        message.extend((values.len() as u16).to_be_bytes());
        for value in values {
            match value {
                Some(text) => {
                    message.push(b't');
                    message.extend((text.len() as u32).to_be_bytes());
                    message.extend(text.as_bytes());
                }
                None => message.push(b'n'),
            }
        }
        message
    }

    #[test]
    fn reads_the_deleted_key_of_the_token_table_only() {
        let mut decoder = Decoder::new("public", "access_token", "token");
        assert_eq!(decoder.read(&delete(7, &[Some("k")])).unwrap(), Change::Other);
        decoder.read(&relation(7, "public", "access_token", &["token", "user_id"])).unwrap();
        decoder.read(&relation(8, "other", "access_token", &["token", "user_id"])).unwrap();
        assert_eq!(
            decoder.read(&delete(7, &[Some("abc"), None])).unwrap(),
            Change::Deleted("abc".into())
        );
        assert_eq!(decoder.read(&delete(8, &[Some("abc"), None])).unwrap(), Change::Other);
        // The key column missing from the identity: anything may be gone.
        assert_eq!(decoder.read(&delete(7, &[None, Some("1")])).unwrap(), Change::DeletedUnknown);
    }

    #[test]
    fn a_table_without_the_key_column_gives_unknown_deletes() {
        let mut decoder = Decoder::new("public", "access_token", "token");
        decoder.read(&relation(7, "public", "access_token", &["id", "user_id"])).unwrap();
        assert_eq!(decoder.read(&delete(7, &[Some("1"), None])).unwrap(), Change::DeletedUnknown);
    }

    #[test]
    fn a_truncate_naming_the_table_empties_it() {
        let mut decoder = Decoder::new("public", "access_token", "token");
        decoder.read(&relation(7, "public", "access_token", &["token"])).unwrap();
        let truncate = |ids: &[u32]| {
            let mut message = vec![b'T'];
            message.extend((ids.len() as u32).to_be_bytes());
            message.push(0);
            for id in ids {
                message.extend(id.to_be_bytes());
            }
            message
        };
        assert_eq!(decoder.read(&truncate(&[3, 7])).unwrap(), Change::Truncated);
        assert_eq!(decoder.read(&truncate(&[3])).unwrap(), Change::Other);
    }

    #[test]
    fn cut_or_strange_messages_are_errors_not_panics() {
        let mut decoder = Decoder::new("public", "access_token", "token");
        let whole = relation(7, "public", "access_token", &["token"]);
        for end in 1..whole.len() {
            assert!(decoder.read(&whole[..end]).is_err(), "cut at {end}");
        }
        decoder.read(&whole).unwrap();
        let whole = delete(7, &[Some("abc")]);
        for end in 5..whole.len() {
            assert!(decoder.read(&whole[..end]).is_err(), "cut at {end}");
        }
        assert!(decoder.read(&[b'D', 0, 0, 0, 7, b'X']).is_err());
        assert_eq!(decoder.read(&[]).map_err(|e| e.0), Err("a message cut short"));
    }
}
