//! What ranking and filtering read for every candidate, as columns: doc i is
//! row i, in name order. Each column is an array of fixed-width
//! little-endian values, saved as it is and read in place from the mapped
//! file, as the postings are. Decoding them at every load was most of what
//! was left of a V2 search process at 100k packages (BENCHMARKS.md, "Reads
//! without the store"): a varint per value, and memory for all of it.

use super::FIELD_COUNT;
use super::doc::Doc;
use super::file::{Bytes, u32_at};

/// The columns (see the module docs). Loading checks their lengths, offsets,
/// order and ids once, in O(docs), so reads index them without checks that
/// could fail.
#[derive(Clone)]
pub(super) struct Columns {
    n: usize,
    /// Every name, concatenated; name i ends at `name_ends[i]` (u32).
    names: Bytes,
    name_ends: Bytes,
    /// u64 per doc.
    downloads: Bytes,
    /// i64 per doc: Unix seconds of the latest version (0 when unknown).
    published: Bytes,
    /// u32 per doc: `labels` index + 1 of the doc's category, 0 for none.
    category: Bytes,
    /// u32 per tag: doc i's tags are `tag_ids[tag_ends[i - 1]..tag_ends[i]]`.
    tag_ids: Bytes,
    tag_ends: Bytes,
    /// u32 x `FIELD_COUNT` per doc: tokens per field (BM25's document length).
    lens: Bytes,
    /// Distinct lowercase categories and tags (few: saved in the meta section).
    pub(super) labels: Vec<String>,
}

/// The column sections, in file order.
pub(super) const SECTIONS: usize = 8;

impl Columns {
    pub(super) fn of(docs: &[Doc]) -> Self {
        let mut labels: Vec<String> = Vec::new();
        let mut label_ids: std::collections::HashMap<String, u32> = Default::default();
        let mut label = |l: &str| -> u32 {
            if let Some(&id) = label_ids.get(l) {
                return id;
            }
            labels.push(l.to_string());
            let id = labels.len() as u32 - 1;
            label_ids.insert(l.to_string(), id);
            id
        };
        let mut c: [Vec<u8>; SECTIONS] = Default::default();
        let [
            names,
            name_ends,
            downloads,
            published,
            category,
            tag_ids,
            tag_ends,
            lens,
        ] = &mut c;
        let mut tags = 0u32;
        for d in docs {
            names.extend_from_slice(d.name.as_bytes());
            name_ends.extend_from_slice(&(names.len() as u32).to_le_bytes());
            downloads.extend_from_slice(&d.downloads.to_le_bytes());
            published.extend_from_slice(&d.published.to_le_bytes());
            let cat = d.category.as_deref().map_or(0, |l| label(l) + 1);
            category.extend_from_slice(&cat.to_le_bytes());
            for t in &d.tags {
                tag_ids.extend_from_slice(&label(t).to_le_bytes());
                tags += 1;
            }
            tag_ends.extend_from_slice(&tags.to_le_bytes());
            for f in &d.fields {
                lens.extend_from_slice(&(f.len() as u32).to_le_bytes());
            }
        }
        Self::assemble(docs.len(), c.map(Bytes::owned), labels)
    }

    /// The column sections to save, in file order.
    pub(super) fn sections(&self) -> [&[u8]; SECTIONS] {
        [
            self.names.as_ref(),
            self.name_ends.as_ref(),
            self.downloads.as_ref(),
            self.published.as_ref(),
            self.category.as_ref(),
            self.tag_ids.as_ref(),
            self.tag_ends.as_ref(),
            self.lens.as_ref(),
        ]
    }

    /// Columns over saved sections (in [`Self::sections`] order), checked.
    pub(super) fn from_sections(
        n: usize,
        sections: [Bytes; SECTIONS],
        labels: Vec<String>,
    ) -> std::result::Result<Self, String> {
        let c = Self::assemble(n, sections, labels);
        c.check()?;
        Ok(c)
    }

    fn assemble(n: usize, sections: [Bytes; SECTIONS], labels: Vec<String>) -> Self {
        let [
            names,
            name_ends,
            downloads,
            published,
            category,
            tag_ids,
            tag_ends,
            lens,
        ] = sections;
        Self {
            n,
            names,
            name_ends,
            downloads,
            published,
            category,
            tag_ids,
            tag_ends,
            lens,
            labels,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.n
    }

    fn name_bytes(&self, i: usize) -> &[u8] {
        item(self.names.as_ref(), self.name_ends.as_ref(), i)
    }

    /// Doc i's name (checked to be UTF-8 at load).
    pub(super) fn name(&self, i: usize) -> &str {
        std::str::from_utf8(self.name_bytes(i)).unwrap_or_default()
    }

    pub(super) fn downloads(&self, i: usize) -> u64 {
        let b = &self.downloads.as_ref()[i * 8..i * 8 + 8];
        u64::from_le_bytes(b.try_into().expect("8 bytes"))
    }

    pub(super) fn published(&self, i: usize) -> i64 {
        let b = &self.published.as_ref()[i * 8..i * 8 + 8];
        i64::from_le_bytes(b.try_into().expect("8 bytes"))
    }

    pub(super) fn category(&self, i: usize) -> u32 {
        u32_at(self.category.as_ref(), i).unwrap_or(0)
    }

    /// Doc i's length in tokens of field `f`.
    pub(super) fn field_len(&self, i: usize, f: usize) -> u32 {
        u32_at(self.lens.as_ref(), i * FIELD_COUNT + f).unwrap_or(0)
    }

    /// Whether doc i carries tag `label`.
    pub(super) fn has_tag(&self, i: usize, label: u32) -> bool {
        let ends = self.tag_ends.as_ref();
        let ids = self.tag_ids.as_ref();
        (start(ends, i)..end(ends, i)).any(|t| u32_at(ids, t) == Some(label))
    }

    pub(super) fn position(&self, name: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.name_bytes(mid).cmp(name.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    pub(super) fn label(&self, l: &str) -> Option<u32> {
        self.labels.iter().position(|x| x == l).map(|i| i as u32)
    }

    /// Every column as long as the doc count says, every offset in range and
    /// increasing, every name UTF-8 and the names sorted and distinct, every
    /// category and tag id a label. Each loop takes its slices once: reaching
    /// a section goes through its shared buffer, and doing that per value
    /// was most of the check at 100k docs.
    fn check(&self) -> std::result::Result<(), String> {
        let n = self.n;
        if self.name_ends.as_ref().len() != n * 4
            || self.downloads.as_ref().len() != n * 8
            || self.published.as_ref().len() != n * 8
            || self.category.as_ref().len() != n * 4
            || self.tag_ends.as_ref().len() != n * 4
            || self.lens.as_ref().len() != n * FIELD_COUNT * 4
            || self.tag_ids.as_ref().len() % 4 != 0
        {
            return Err("ranking columns of different lengths".into());
        }
        let ordered = |ends: &[u8], total: usize| {
            (0..n).all(|i| start(ends, i) <= end(ends, i)) && (n == 0 || end(ends, n - 1) == total)
        };
        let (names, name_ends) = (self.names.as_ref(), self.name_ends.as_ref());
        if !ordered(name_ends, names.len()) {
            return Err("name offsets out of range".into());
        }
        // The names are one string: one UTF-8 check covers them all, and
        // each name is UTF-8 if it also starts on a character boundary.
        let text = std::str::from_utf8(names).map_err(|_| "names are not UTF-8")?;
        let mut previous: &[u8] = &[];
        for i in 0..n {
            if !text.is_char_boundary(start(name_ends, i)) {
                return Err(format!("name {i} is not UTF-8"));
            }
            let name = item(names, name_ends, i);
            if i > 0 && previous >= name {
                return Err("documents are not sorted by name".into());
            }
            previous = name;
        }
        let labels = self.labels.len() as u32;
        let ids = self.tag_ids.as_ref();
        if !ordered(self.tag_ends.as_ref(), ids.len() / 4)
            || u32s(ids).any(|id| id >= labels)
            || u32s(self.category.as_ref()).any(|c| c > labels)
        {
            return Err("tag or category out of range".into());
        }
        Ok(())
    }
}

/// The values of a u32 column.
fn u32s(column: &[u8]) -> impl Iterator<Item = u32> + '_ {
    column
        .chunks_exact(4)
        .map(|v| u32::from_le_bytes(v.try_into().expect("4 bytes")))
}

/// Where item `i` of an offsets column ends (0 past the end).
fn end(ends: &[u8], i: usize) -> usize {
    u32_at(ends, i).unwrap_or(0) as usize
}

/// Where item `i` of an offsets column starts.
fn start(ends: &[u8], i: usize) -> usize {
    if i == 0 { 0 } else { end(ends, i - 1) }
}

/// Item `i` of `bytes` cut by the offsets column `ends` (empty if out of range).
fn item<'a>(bytes: &'a [u8], ends: &[u8], i: usize) -> &'a [u8] {
    bytes.get(start(ends, i)..end(ends, i)).unwrap_or_default()
}

/// Tokens per field summed over every doc.
pub(super) fn length_totals(c: &Columns) -> [u64; FIELD_COUNT] {
    let mut totals = [0u64; FIELD_COUNT];
    for row in c.lens.as_ref().chunks_exact(4 * FIELD_COUNT) {
        for (f, t) in totals.iter_mut().enumerate() {
            let b = &row[4 * f..4 * f + 4];
            *t += u64::from(u32::from_le_bytes(b.try_into().expect("4 bytes")));
        }
    }
    totals
}

/// Tokens per field averaged over `n` docs holding `totals` (BM25's average
/// document length).
pub(super) fn averages(totals: [u64; FIELD_COUNT], n: usize) -> [f32; FIELD_COUNT] {
    let n = n.max(1) as f32;
    totals.map(|t| t as f32 / n)
}
