//! Persistence: `<dir>/index.bin` holds the base segment and
//! `<dir>/delta.bin` the docs written since (see `layers`), both in this
//! layout and both written atomically. A CLI search is one process per
//! query, so the layout is memory-mapped and read lazily rather than decoded
//! whole: decoding every document on each run was most of a V2 search
//! process (BENCHMARKS.md, "Where the time goes"). Little-endian, in order:
//!
//! ```text
//! magic "GGENV2TB" | generation u64 | segment id u64 | docs u32 | terms u32
//! | lengths u64 x 14, one per section below
//! | meta      postcard: the category and tag labels, the graph's topic
//! |           scheme if it holds one, the change-feed entry of the
//! |           generation if known, and for a delta the id of its base and
//! |           the base docs it replaces; decoded at load
//! | columns   8 sections read in place (`columns.rs`): names (one string),
//! |           name ends u32, downloads u64, published i64, category u32,
//! |           tag ids u32, tag ends u32, field lengths u32 x 6, per doc
//! | starts    u32 per term + 1: term i's postings are records starts[i]..starts[i+1]
//! | postings  8 bytes each: doc u32, field u8, the field's length in tokens
//! |           (255: 255 or more, read from the columns), term frequency u16
//! | doc ends  u32 per doc: where each doc's bytes end in the docs section
//! | docs      each doc in postcard, decoded on first use (search hits, list),
//! |           then its package record (postcard `Package`, what `info` reads)
//! | fst       the terms, valued by their ordinal
//! ```
//!
//! Loading checks the layout (lengths, sort order, monotonic offsets) and the
//! FST's checksum; postings and docs are checked when read, and one that no
//! longer fits is an error naming `rebuild-index`, never a panic. Damage that
//! still decodes (a changed letter in a description) goes unnoticed: a checksum
//! over the whole file would mean reading all of it on every search. Crashes
//! cannot cause it (writes are atomic); `rebuild-index` repairs it.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ggen_marketplace_core::fsutil::atomic_write;
use ggen_marketplace_core::model::Package;
use ggen_marketplace_core::topics::TopicScheme;
use ggen_marketplace_core::{MarketplaceError, Result};

use super::columns::{self, Columns, averages, length_totals};
use super::doc::Doc;
use super::{FIELD_COUNT, Over, Segment};

pub const INDEX_FILE: &str = "index.bin";
pub const DELTA_FILE: &str = "delta.bin";
// Bumped whenever the layout or `Doc` changes: an older file is then rebuilt, never misread.
const MAGIC: &[u8; 8] = b"GGENV2TB";
/// meta, the columns, starts, postings, doc ends, docs, fst.
const SECTION_COUNT: usize = 1 + columns::SECTIONS + 5;
pub(super) const PREAMBLE: usize = 8 + 8 + 8 + 4 + 4 + 8 * SECTION_COUNT;
pub(super) const POSTING_BYTES: usize = 8;

#[derive(Debug, Clone, Copy)]
pub(super) struct Posting {
    pub(super) doc: u32,
    pub(super) field: u8,
    /// The field's length in tokens, [`LONG_FIELD`] for that or more: BM25
    /// reads it with the posting instead of from a column per doc, which at
    /// 100k packages was a cache miss per posting.
    pub(super) len: u8,
    pub(super) tf: u16,
}

/// [`Posting::len`] of a field this long or longer (its length is in the
/// ranking columns).
pub(super) const LONG_FIELD: u8 = u8::MAX;

/// One posting record (`POSTING_BYTES` long).
#[inline]
pub(super) fn decode(r: &[u8]) -> Posting {
    Posting {
        doc: u32::from_le_bytes(r[..4].try_into().expect("4 bytes")),
        field: r[4],
        len: r[5],
        tf: u16::from_le_bytes(r[6..8].try_into().expect("2 bytes")),
    }
}

/// Immutable bytes: built in memory, or a range of the memory-mapped file.
/// Cloning shares them.
#[derive(Clone)]
pub(super) struct Bytes {
    buf: Arc<dyn AsRef<[u8]> + Send + Sync>,
    range: Range<usize>,
}

impl Bytes {
    pub(super) fn owned(v: Vec<u8>) -> Self {
        let range = 0..v.len();
        Self {
            buf: Arc::new(v),
            range,
        }
    }

    pub(super) fn slice(&self, range: Range<usize>) -> Self {
        Self {
            buf: self.buf.clone(),
            range: self.range.start + range.start..self.range.start + range.end,
        }
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &(*self.buf).as_ref()[self.range.clone()]
    }
}

pub(super) fn u32_at(bytes: &[u8], i: usize) -> Option<u32> {
    let b = bytes.get(i * 4..i * 4 + 4)?;
    Some(u32::from_le_bytes(b.try_into().expect("4 bytes")))
}

pub(super) fn index_err(path: &Path, reason: impl std::fmt::Display) -> MarketplaceError {
    MarketplaceError::SearchIndex {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Each doc in postcard, concatenated, and where each one ends.
pub(super) fn encode_docs<'a>(docs: impl Iterator<Item = &'a Doc>) -> (Vec<u8>, Vec<u8>) {
    let mut bytes = Vec::new();
    let mut ends = Vec::new();
    for d in docs {
        bytes = postcard::to_extend(d, bytes).expect("a Doc always serializes");
        bytes.extend_from_slice(&d.record);
        // A docs section over 4 GiB would need ~10M packages; `save` refuses it.
        ends.extend_from_slice(&(bytes.len().min(u32::MAX as usize) as u32).to_le_bytes());
    }
    (bytes, ends)
}

impl Segment {
    /// Writes the segment to `path` atomically (layout in the module docs).
    pub(super) fn save(&self, path: &Path) -> Result<()> {
        let out = self.to_bytes().map_err(|e| index_err(path, e))?;
        atomic_write(path, &out)
    }

    /// The segment's file, in memory (what [`Self::save`] writes).
    pub(super) fn to_bytes(&self) -> std::result::Result<Vec<u8>, String> {
        let meta = postcard::to_stdvec(&(
            &self.columns.labels,
            self.scheme.as_deref(),
            self.head.as_deref(),
            &self.over,
        ))
        .map_err(|e| e.to_string())?;
        let mut sections: Vec<&[u8]> = vec![&meta];
        sections.extend(self.columns.sections());
        sections.extend([
            self.starts.as_ref(),
            self.postings.as_ref(),
            self.doc_ends.as_ref(),
            self.doc_bytes.as_ref(),
            self.fst.as_fst().as_bytes(),
        ]);
        debug_assert_eq!(sections.len(), SECTION_COUNT);
        if self.doc_bytes.as_ref().len() > u32::MAX as usize {
            return Err("over 4 GiB of documents".into());
        }
        let total: usize = sections.iter().map(|s| s.len()).sum();
        let mut out = Vec::with_capacity(PREAMBLE + total);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&(self.columns.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.fst.len() as u32).to_le_bytes());
        for s in &sections {
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        }
        for s in &sections {
            out.extend_from_slice(s);
        }
        Ok(out)
    }

    /// A segment from a file's bytes held in memory (one downloaded), with
    /// the checks [`Self::load`] makes; `origin` names it in messages.
    pub(super) fn from_bytes(bytes: Vec<u8>, origin: &Path) -> std::result::Result<Self, String> {
        Self::parse(Bytes::owned(bytes), origin)
    }

    /// The id of the segment saved at `path`, from its first bytes; `None`
    /// when there is none (or not in this layout).
    pub(super) fn saved_id(path: &Path) -> Option<u64> {
        use std::io::Read;
        let mut head = [0u8; 24];
        std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
        (&head[..8] == MAGIC).then(|| u64::from_le_bytes(head[16..24].try_into().expect("8 bytes")))
    }

    /// Maps the segment saved at `path`; the reason when it is absent,
    /// unreadable or damaged.
    pub(super) fn load(path: &Path) -> std::result::Result<Self, String> {
        let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
        // SAFETY: the file is never modified in place: every writer writes
        // a new file and renames it over this one (`atomic_write`), so the
        // mapped inode stays as it is for as long as the map lives.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| e.to_string())?;
        let bytes = Bytes {
            range: 0..map.len(),
            buf: Arc::new(map),
        };
        Self::parse(bytes, path)
    }

    fn parse(bytes: Bytes, path: &Path) -> std::result::Result<Self, String> {
        let b = bytes.as_ref();
        if b.len() < PREAMBLE || &b[..8] != MAGIC {
            return Err("not a term index file (or an older layout)".into());
        }
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let generation = u64_at(8);
        let id = u64_at(16);
        let n = u32_at(&b[24..28], 0).expect("4 bytes") as usize;
        let terms = u32_at(&b[28..32], 0).expect("4 bytes") as usize;
        let mut ranges = Vec::with_capacity(SECTION_COUNT);
        let mut at = PREAMBLE;
        for k in 0..SECTION_COUNT {
            let len = usize::try_from(u64_at(32 + 8 * k)).map_err(|_| "length overflows")?;
            let end = at
                .checked_add(len)
                .filter(|&e| e <= b.len())
                .ok_or("truncated")?;
            ranges.push(at..end);
            at = end;
        }
        if at != b.len() {
            return Err("trailing bytes".into());
        }
        let section = |k: usize| bytes.slice(ranges[k].clone());
        type Meta = (
            Vec<String>,
            Option<TopicScheme>,
            Option<String>,
            Option<Over>,
        );
        let (labels, scheme, head, over): Meta =
            postcard::from_bytes(section(0).as_ref()).map_err(|e| e.to_string())?;
        let columns = Columns::from_sections(n, std::array::from_fn(|k| section(1 + k)), labels)?;
        let rest = 1 + columns::SECTIONS;
        let offsets_ok = |s: &Bytes, count: usize, last: usize| {
            let s = s.as_ref();
            s.len() == count * 4
                && (0..count).all(|i| {
                    let prev = if i == 0 {
                        0
                    } else {
                        u32_at(s, i - 1).unwrap_or(0)
                    };
                    u32_at(s, i).is_some_and(|v| v >= prev)
                })
                && (count == 0 || u32_at(s, count - 1) == Some(last as u32))
        };
        let (starts, postings, doc_ends, doc_bytes) = (
            section(rest),
            section(rest + 1),
            section(rest + 2),
            section(rest + 3),
        );
        if postings.as_ref().len() % POSTING_BYTES != 0
            || !offsets_ok(&starts, terms + 1, postings.as_ref().len() / POSTING_BYTES)
            || u32_at(starts.as_ref(), 0) != Some(0)
        {
            return Err("postings offsets disagree with the postings".into());
        }
        if !offsets_ok(&doc_ends, n, doc_bytes.as_ref().len()) {
            return Err("document offsets disagree with the documents".into());
        }
        let fst = fst::Map::new(section(rest + 4)).map_err(|e| e.to_string())?;
        if fst.len() != terms {
            return Err("term count disagrees with the FST".into());
        }
        // The FST's own checksum: its nodes are followed without bounds checks
        // of ours, so damage there must be caught here (a few ms at 100k terms).
        fst.as_fst().verify().map_err(|e| e.to_string())?;
        let totals = length_totals(&columns);
        Ok(Self {
            generation,
            id,
            over,
            len_totals: totals,
            avg_len: averages(totals, columns.len()),
            decoded: (0..n).map(|_| OnceLock::new()).collect(),
            columns,
            fst,
            starts,
            postings,
            doc_ends,
            doc_bytes,
            source: Some(path.to_path_buf()),
            scheme: scheme.map(Arc::new),
            head,
        })
    }

    /// The postings of term `ord`, checked as [`Self::posting_bytes`] checks them.
    pub(super) fn postings(&self, ord: u64) -> Result<impl Iterator<Item = Posting> + '_> {
        Ok(self
            .posting_bytes(ord)?
            .chunks_exact(POSTING_BYTES)
            .map(decode))
    }

    /// The records of term `ord`'s postings, checked before any is used (a
    /// second pass over a few records, no allocation): each names a doc and
    /// field that exist, in increasing (doc, field) order, as scoring a
    /// window at a time relies on.
    pub(super) fn posting_bytes(&self, ord: u64) -> Result<&[u8]> {
        let starts = self.starts.as_ref();
        let range = usize::try_from(ord)
            .ok()
            .and_then(|o| Some(u32_at(starts, o)? as usize..u32_at(starts, o + 1)? as usize))
            .ok_or_else(|| self.damaged(format!("term {ord} has no postings")))?;
        let bytes = self
            .postings
            .as_ref()
            .get(range.start * POSTING_BYTES..range.end * POSTING_BYTES)
            .ok_or_else(|| self.damaged(format!("postings of term {ord} out of range")))?;
        let n = self.columns.len();
        let mut previous: Option<(u32, u8)> = None;
        for p in bytes.chunks_exact(POSTING_BYTES).map(decode) {
            if p.doc as usize >= n || p.field as usize >= FIELD_COUNT {
                return Err(self.damaged(format!("a posting of term {ord} is out of range")));
            }
            if previous.is_some_and(|prev| prev >= (p.doc, p.field)) {
                return Err(self.damaged(format!("the postings of term {ord} are out of order")));
            }
            previous = Some((p.doc, p.field));
        }
        Ok(bytes)
    }

    pub(super) fn damaged(&self, what: impl std::fmt::Display) -> MarketplaceError {
        let path = self
            .source
            .clone()
            .unwrap_or_else(|| PathBuf::from(INDEX_FILE));
        index_err(&path, format!("damaged term index: {what}"))
    }

    /// Doc `i` (an index into the name order, as in `Scored::doc`), decoded
    /// from the file on first use.
    pub fn doc(&self, i: u32) -> Result<&Doc> {
        let i = i as usize;
        let cell = self
            .decoded
            .get(i)
            .ok_or_else(|| self.damaged(format!("no document {i}")))?;
        if let Some(d) = cell.get() {
            return Ok(d);
        }
        let (doc, _record) = self.decode_doc(i)?;
        Ok(cell.get_or_init(|| Box::new(doc)))
    }

    /// Doc `i` as saved, and the package record saved after it.
    pub(super) fn decode_doc(&self, i: usize) -> Result<(Doc, &[u8])> {
        let ends = self.doc_ends.as_ref();
        let start = if i == 0 {
            0
        } else {
            u32_at(ends, i - 1).unwrap_or(0)
        } as usize;
        let end = u32_at(ends, i).unwrap_or(0) as usize;
        let (doc, record): (Doc, &[u8]) = self
            .doc_bytes
            .as_ref()
            .get(start..end)
            .ok_or_else(|| self.damaged(format!("document {i} out of range")))
            .and_then(|b| {
                postcard::take_from_bytes(b).map_err(|e| self.damaged(format!("document {i}: {e}")))
            })?;
        if doc.name != self.columns.name(i) {
            return Err(self.damaged(format!("document {i} is not `{}`", self.columns.name(i))));
        }
        Ok((doc, record))
    }

    /// The package record of doc `i`, checked to be the package the index
    /// names there.
    pub(super) fn record(&self, i: usize) -> Result<Package> {
        let p: Package = postcard::from_bytes(self.decode_doc(i)?.1)
            .map_err(|e| self.damaged(format!("the package record of document {i}: {e}")))?;
        let name = self.columns.name(i);
        if p.name != name || p.versions.is_empty() || p.versions.iter().any(|v| v.name != name) {
            return Err(self.damaged(format!(
                "the package record of document {i} is not `{name}`"
            )));
        }
        Ok(p)
    }
}
