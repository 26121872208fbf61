//! Taking back what a long import wrote, when it cannot finish: an import is checked
//! whole before it writes, and then writes case by case (one case's records at a time,
//! so memory stays constant); if a write fails part-way (a full disk, a file that
//! changed), every record it wrote is removed again with all its traces, and this
//! device's chain of versions is set back to where it stood, so nothing of the import
//! remains and no number of the chain is missing.

use uuid::Uuid;

use super::{ChainHead, Vault, META_CHAIN};
use crate::error::{Error, Result};
use crate::store::Write;
use custos_model::{Body, Kind, Record};

/// Where this device's chain of versions stood before an import began.
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint {
    chain: ChainHead,
}

impl Vault {
    /// True when a record with this id is in the vault (deleted ones too): an import
    /// leaves such a record as it is.
    pub fn has_record(&self, record_id: Uuid) -> bool {
        self.index.get(record_id).is_some()
    }

    /// A point to take an import back to ([`Vault::roll_back`]).
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint { chain: self.chain }
    }

    /// Removes `records` — written since `to` and never sent to the hub — with every
    /// version, custody entry and evidence file, and sets the chain back to `to`.
    /// Refused, with nothing removed, if anything else was written since `to` or any of
    /// them was synced. Returns how many versions were removed.
    pub fn roll_back(&mut self, to: Checkpoint, records: &[Uuid]) -> Result<usize> {
        let mut versions = Vec::new();
        let mut blobs = Vec::new();
        let mut kept = Vec::new();
        for r in records {
            let Some(entry) = self.index.get(*r) else {
                continue;
            };
            kept.push(*r);
            for m in &entry.versions {
                if self.store.is_synced(m.id)? {
                    return Err(Error::Invalid(format!(
                        "record {r} was already sent to the hub: it cannot be taken back"
                    )));
                }
                versions.push(m.id);
                if entry.kind == Kind::Evidence {
                    if let Ok(v) = self.read_version(m.id, Some(*r)) {
                        if let Body::Record(Record::Evidence(ev)) = &v.body {
                            blobs.push(ev.blob_id);
                        }
                    }
                }
            }
        }
        let written = self.chain.seq.saturating_sub(to.chain.seq);
        if written != versions.len() as u64 {
            return Err(Error::Invalid(format!(
                "{written} change(s) were written since the import began, {} of them by it: \
                 nothing was taken back",
                versions.len()
            )));
        }
        blobs.sort_unstable();
        blobs.dedup();
        self.purge(&versions, &kept, &blobs)?;
        let head = self.seal_chain(&to.chain)?;
        self.store.commit(vec![Write::Meta(META_CHAIN, head)])?;
        self.chain = to.chain;
        // The database's free space: rewritten now, or (a full disk: likely, when an
        // import stopped) at the next unlock — the removal itself stands either way.
        let _ = self.rewrite_traces("the import was taken back");
        Ok(versions.len())
    }
}
