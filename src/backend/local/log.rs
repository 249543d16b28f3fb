//! The trail as a Merkle log: every event's canonical encoding (the text its
//! chain hash covers) is a leaf of an RFC 6962 tree. The interior hashes are
//! stored as the events are appended (`tlog_tiles`' stored-hash layout, about
//! two per event), so a tree head, an inclusion proof or a consistency proof
//! reads O(log n) stored hashes and never rehashes the log.

use crate::db::{Connection, OptionalExtension, ToSql};
use tlog_tiles::tlog::{self, Hash, HashReader};

use crate::backend::{BackendError, Result};

/// The stored hashes of one store, read through a connection.
pub struct StoredHashes<'a>(pub &'a Connection<'a>);

impl HashReader for StoredHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> std::result::Result<Vec<Hash>, tlog::Error> {
        let mut statement = self
            .0
            .prepare_cached("SELECT hash FROM log_hashes WHERE idx = ?1")
            .map_err(|_| tlog::Error::IndexesNotInTree)?;
        indexes
            .iter()
            .map(|&index| {
                let bytes: Option<Vec<u8>> = statement
                    .query_row([index as i64], |row| row.get(0))
                    .optional()
                    .map_err(|_| tlog::Error::IndexesNotInTree)?;
                let bytes = bytes.ok_or(tlog::Error::IndexesNotInTree)?;
                let hash: [u8; 32] = bytes.try_into().map_err(|_| tlog::Error::MalformedHash)?;
                Ok(Hash(hash))
            })
            .collect()
    }
}

fn log_error(what: &str, err: tlog::Error) -> BackendError {
    BackendError::Storage(format!("the Merkle log cannot {what}: {err}"))
}

/// Appends leaf after leaf, remembering the log's frontier (the roots of
/// its complete subtrees, at most one per level): the only hashes the next
/// leaf reads, so it need not read them back. Use within one transaction,
/// as the trail's writer is.
#[derive(Default)]
pub struct LogAppender {
    frontier: std::collections::BTreeMap<u64, Hash>,
}

impl LogAppender {
    /// An appender holding the frontier of a log of `size` leaves, read
    /// once, so it appends without the store (on another thread).
    pub fn at(conn: &Connection, size: u64) -> Result<LogAppender> {
        let mut appender = LogAppender::default();
        appender.read_frontier(conn, size)?;
        Ok(appender)
    }

    /// Reads from `store` the frontier hashes of a log of `size` leaves
    /// this appender does not hold.
    fn read_frontier(&mut self, store: &Connection, size: u64) -> Result<()> {
        let missing: Vec<u64> = frontier_indexes(size)
            .into_iter()
            .filter(|idx| !self.frontier.contains_key(idx))
            .collect();
        if !missing.is_empty() {
            let read = StoredHashes(store)
                .read_hashes(&missing)
                .map_err(|err| log_error("read its frontier", err))?;
            self.frontier.extend(missing.into_iter().zip(read));
        }
        Ok(())
    }

    /// Stores the hashes that leaf `index` (0-based) completes.
    pub fn append(&mut self, conn: &Connection, index: u64, leaf: &[u8]) -> Result<()> {
        let (first, hashes) = self.hashes(Some(conn), index, leaf)?;
        store_hashes(conn, first, &hashes)
    }

    /// The hashes leaf `index` completes and the stored index of the first.
    /// The frontier of the `index` leaves before it is all they read; what
    /// this appender does not hold yet (a log it did not start) comes from
    /// `store`.
    pub fn hashes(
        &mut self,
        store: Option<&Connection>,
        index: u64,
        leaf: &[u8],
    ) -> Result<(u64, Vec<Hash>)> {
        // A detached appender holds its whole frontier: a miss is an error
        // from the frontier reader below.
        if let Some(store) = store {
            self.read_frontier(store, index)?;
        }
        let hashes = tlog::stored_hashes(index, leaf, &Frontier(&self.frontier))
            .map_err(|err| log_error("append a leaf", err))?;
        let first = tlog::stored_hash_index(0, index);
        for (offset, hash) in hashes.iter().enumerate() {
            self.frontier.insert(first + offset as u64, *hash);
        }
        let kept = frontier_indexes(index + 1);
        self.frontier.retain(|idx, _| kept.contains(idx));
        Ok((first, hashes))
    }
}

/// Where the roots of a log of `size` leaves are stored: one per set bit,
/// largest subtree first.
fn frontier_indexes(size: u64) -> Vec<u64> {
    let mut start = 0u64;
    (0..64u8)
        .rev()
        .filter(|level| size & (1 << level) != 0)
        .map(|level| {
            let index = tlog::stored_hash_index(level, start >> level);
            start += 1 << level;
            index
        })
        .collect()
}

/// An appender's frontier, as the hashes a new leaf reads.
struct Frontier<'a>(&'a std::collections::BTreeMap<u64, Hash>);

impl HashReader for Frontier<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> std::result::Result<Vec<Hash>, tlog::Error> {
        indexes
            .iter()
            .map(|index| {
                self.0
                    .get(index)
                    .copied()
                    .ok_or(tlog::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// Stores hashes at consecutive indexes from `first`.
pub fn store_hashes(conn: &Connection, first: u64, hashes: &[Hash]) -> Result<()> {
    // A leaf completes one hash, or a few more at each power of two; a
    // bulk writer's batch, a few hundred per statement.
    for (chunk, start) in hashes
        .chunks(HASHES_PER_STATEMENT)
        .zip((0..).step_by(HASHES_PER_STATEMENT))
    {
        let indexes: Vec<i64> = (0..chunk.len())
            .map(|offset| (first + (start + offset) as u64) as i64)
            .collect();
        let bytes: Vec<&[u8]> = chunk.iter().map(|hash| &hash.0[..]).collect();
        let values: Vec<&dyn ToSql> = indexes
            .iter()
            .zip(&bytes)
            .flat_map(|(idx, hash)| [idx as &dyn ToSql, hash as &dyn ToSql])
            .collect();
        conn.insert_rows("INSERT INTO log_hashes (idx, hash)", 2, &values, "")?;
    }
    Ok(())
}

/// Two parameters each, well under both engines' limits.
const HASHES_PER_STATEMENT: usize = 400;

/// Stores the hashes of every event already in the trail (a store from
/// before the log), streaming.
pub fn backfill(conn: &Connection) -> Result<()> {
    let mut statement = conn.prepare_cached(
        "SELECT seq, at, actor, entity_type, entity_id, action, before_version, after_version, details
         FROM trail ORDER BY seq",
    )?;
    let mut rows = statement.query(crate::db::params![])?;
    let mut prev_hash = crate::domain::trail::GENESIS_HASH.to_owned();
    let mut appender = LogAppender::default();
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let entry = crate::domain::TrailEntry {
            at: super::rows::from_ms(row.get(1)?)?,
            actor: row.get(2)?,
            entity_type: row.get(3)?,
            entity_id: row.get(4)?,
            action: row.get(5)?,
            before_version: row.get(6)?,
            after_version: row.get(7)?,
            details: row.get(8)?,
        };
        let leaf = crate::domain::trail::canonical(&prev_hash, seq, &entry);
        appender.append(conn, (seq - 1) as u64, leaf.as_bytes())?;
        prev_hash = crate::domain::trail::hash_of(&leaf);
    }
    Ok(())
}

/// How many leaves the stored hashes cover.
pub fn size(conn: &Connection) -> Result<u64> {
    let stored: i64 = conn.query_row(
        "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_hashes",
        crate::db::params![],
        |row| row.get(0),
    )?;
    // The stored-hash count of a log of n leaves is strictly increasing in
    // n: walk up to it from the trail's own count.
    let events: i64 = conn.query_row(
        "SELECT COALESCE(MAX(seq), 0) FROM trail",
        crate::db::params![],
        |row| row.get(0),
    )?;
    let events = events.max(0) as u64;
    if tlog::stored_hash_count(events) as i64 == stored {
        Ok(events)
    } else {
        Err(BackendError::Storage(format!(
            "the Merkle log holds {stored} stored hashes, not the {} that {events} events need",
            tlog::stored_hash_count(events)
        )))
    }
}

/// The root hash of the first `size` leaves.
pub fn root(conn: &Connection, size: u64) -> Result<Hash> {
    tlog::tree_hash(size, &StoredHashes(conn)).map_err(|err| log_error("compute a root", err))
}

/// The proof that leaf `index` is in the tree of `size` leaves.
pub fn inclusion_proof(conn: &Connection, index: u64, size: u64) -> Result<Vec<Hash>> {
    let held = self::size(conn)?;
    if index >= size || size > held {
        return Err(BackendError::Invalid(format!(
            "no leaf {index} in a tree of {size} (the log holds {held})"
        )));
    }
    tlog::prove_record(size, index, &StoredHashes(conn))
        .map_err(|err| log_error("prove inclusion", err))
}

/// The proof that the tree of `old` leaves is a prefix of the tree of `new`.
pub fn consistency_proof(conn: &Connection, old: u64, new: u64) -> Result<Vec<Hash>> {
    let held = self::size(conn)?;
    if old == 0 || old > new || new > held {
        return Err(BackendError::Invalid(format!(
            "no consistency proof from {old} to {new} (the log holds {held})"
        )));
    }
    tlog::prove_tree(new, old, &StoredHashes(conn))
        .map_err(|err| log_error("prove consistency", err))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE log_hashes (idx INTEGER PRIMARY KEY, hash BLOB NOT NULL);
             CREATE TABLE trail (seq INTEGER PRIMARY KEY);",
        )
        .unwrap();
        conn
    }

    /// Each leaf by an appender of its own: every frontier hash read back.
    fn grow(conn: &Connection, from: u64, to: u64) {
        for n in from..to {
            LogAppender::default()
                .append(conn, n, format!("leaf {n}").as_bytes())
                .unwrap();
            conn.execute("INSERT INTO trail (seq) VALUES (?1)", [n as i64 + 1])
                .unwrap();
        }
    }

    #[test]
    fn an_appender_keeping_the_frontier_stores_the_same_tree() {
        // The frontier alone serves every leaf after the first.
        let (by_leaf, remembering) = (store(), store());
        let (by_leaf, remembering) = (
            Connection::sqlite(&by_leaf),
            Connection::sqlite(&remembering),
        );
        grow(&by_leaf, 0, 3_000);
        let mut appender = LogAppender::default();
        for n in 0..3_000u64 {
            appender
                .append(&remembering, n, format!("leaf {n}").as_bytes())
                .unwrap();
            remembering
                .execute("INSERT INTO trail (seq) VALUES (?1)", [n as i64 + 1])
                .unwrap();
        }
        // One that starts from a store's frontier never reads the store.
        let mut detached = LogAppender::at(&by_leaf, 3_000).unwrap();
        grow(&by_leaf, 3_000, 3_100);
        for n in 3_000..3_100u64 {
            let (first, hashes) = detached
                .hashes(None, n, format!("leaf {n}").as_bytes())
                .unwrap();
            store_hashes(&remembering, first, &hashes).unwrap();
            remembering
                .execute("INSERT INTO trail (seq) VALUES (?1)", [n as i64 + 1])
                .unwrap();
        }
        let leaves: Vec<Vec<u8>> = (0..3_100)
            .map(|n| format!("leaf {n}").into_bytes())
            .collect();
        for n in [1, 255, 256, 1_024, 2_049, 3_000, 3_077, 3_100] {
            assert_eq!(
                root(&remembering, n).unwrap(),
                root(&by_leaf, n).unwrap(),
                "size {n}"
            );
        }
        assert_eq!(root(&remembering, 3_100).unwrap(), reference_root(&leaves));
        assert!(
            detached.frontier.len() <= 12,
            "one root per level of 3,100 leaves"
        );
    }

    /// RFC 6962 roots computed the slow way, for comparison.
    fn reference_root(leaves: &[Vec<u8>]) -> Hash {
        match leaves.len() {
            0 => tlog::EMPTY_HASH,
            1 => tlog::record_hash(&leaves[0]),
            n => {
                let k = n.next_power_of_two() / 2;
                tlog::node_hash(reference_root(&leaves[..k]), reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_match_rfc_6962_and_proofs_verify() {
        let raw = store();
        let conn = Connection::sqlite(&raw);
        let leaves: Vec<Vec<u8>> = (0..67).map(|n| format!("leaf {n}").into_bytes()).collect();
        grow(&conn, 0, 67);
        assert_eq!(size(&conn).unwrap(), 67);
        for n in [1, 2, 3, 7, 8, 31, 64, 67] {
            let root_n = root(&conn, n).unwrap();
            assert_eq!(root_n, reference_root(&leaves[..n as usize]), "size {n}");
            for index in [0, n / 2, n - 1] {
                let proof = inclusion_proof(&conn, index, n).unwrap();
                tlog::check_record(
                    &proof,
                    n,
                    root_n,
                    index,
                    tlog::record_hash(&leaves[index as usize]),
                )
                .unwrap();
            }
            for old in [1, n / 2 + 1, n] {
                let proof = consistency_proof(&conn, old, n).unwrap();
                tlog::check_tree(&proof, n, root_n, old, root(&conn, old).unwrap()).unwrap();
            }
        }
        // A rewritten leaf gives another root: the old proof fails.
        let honest = root(&conn, 67).unwrap();
        let proof = consistency_proof(&conn, 40, 67).unwrap();
        let mut forged_leaves = leaves.clone();
        forged_leaves[10] = b"rewritten".to_vec();
        let forged_old = reference_root(&forged_leaves[..40]);
        assert!(tlog::check_tree(&proof, 67, honest, 40, forged_old).is_err());
        assert!(inclusion_proof(&conn, 67, 67).is_err());
        assert!(consistency_proof(&conn, 10, 68).is_err());
    }
}
