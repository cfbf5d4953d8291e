//! One package as the index sees it ([`Doc`]), and the columns ranking and
//! filters read for every candidate.

use ggen_marketplace_core::model::{Package, PackageSummary};
use serde::{Deserialize, Serialize};

use super::{AUTHOR, CATEGORY, DESCRIPTION, FIELD_COUNT, KEYWORDS, NAME, TAGS, tokens};

/// What the index knows about one package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Doc {
    pub name: String,
    /// The latest version (see `Package::latest`), whose node a hit is hydrated from.
    pub latest: String,
    pub downloads: u64,
    /// Unix seconds of the latest version's publication (0 when unknown).
    pub published: i64,
    /// Lowercase, for the category filter.
    pub category: Option<String>,
    /// Lowercase whole tags, for the tag filter.
    pub tags: Vec<String>,
    /// Tokens per field, in `WEIGHTS` order.
    pub fields: [Vec<String>; FIELD_COUNT],
    /// What `search` hits and `list` show, as published: they are answered from
    /// the index alone, without a round trip to the store per package.
    pub summary: PackageSummary,
    /// The whole package in postcard (versions sorted as the graph reads
    /// them back), which `info`, `versions` and resolution read instead of
    /// the package's subgraph. Saved after the doc, outside its encoding, so
    /// a search hit never decodes it; empty in a doc decoded from a file.
    #[serde(skip)]
    pub record: Vec<u8>,
}

impl Doc {
    pub fn from_package(p: &Package) -> Self {
        let v = p.latest();
        let mut fields: [Vec<String>; FIELD_COUNT] = Default::default();
        fields[NAME] = tokens(&p.name).collect();
        fields[TAGS] = v
            .tags
            .iter()
            .flat_map(|t| tokens(t).collect::<Vec<_>>())
            .collect();
        fields[KEYWORDS] = v
            .keywords
            .iter()
            .flat_map(|t| tokens(t).collect::<Vec<_>>())
            .collect();
        fields[CATEGORY] = v
            .category
            .iter()
            .flat_map(|t| tokens(t).collect::<Vec<_>>())
            .collect();
        fields[DESCRIPTION] = tokens(&v.description).collect();
        fields[AUTHOR] = v
            .authors
            .iter()
            .flat_map(|t| tokens(t).collect::<Vec<_>>())
            .collect();
        Self {
            name: p.name.clone(),
            latest: v.version.to_string(),
            downloads: p.downloads,
            published: v.published_at.map_or(0, |t| t.timestamp()),
            category: v.category.as_ref().map(|c| c.to_lowercase()),
            tags: v.tags.iter().map(|t| t.to_lowercase()).collect(),
            fields,
            summary: p.summary(),
            record: record_of(p),
        }
    }
}

/// `p` as [`Doc::record`] holds it.
pub(super) fn record_of(p: &Package) -> Vec<u8> {
    let mut p = p.clone();
    p.sort_versions();
    postcard::to_stdvec(&p).expect("a Package always serializes")
}

/// What ranking and filtering read for every candidate, as columns (doc i
/// is row i, in name order) with every string in one allocation: at 100k
/// packages a struct per doc meant half a million allocations on every load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Columns {
    /// Every name, concatenated; name i ends at `name_ends[i]`.
    pub(super) names: String,
    pub(super) name_ends: Vec<u32>,
    pub(super) downloads: Vec<u64>,
    pub(super) published: Vec<i64>,
    /// Distinct lowercase categories and tags.
    pub(super) labels: Vec<String>,
    /// `labels` index + 1 of each doc's category, 0 for none.
    pub(super) category: Vec<u32>,
    /// Doc i's tags are `tag_ids[tag_ends[i - 1]..tag_ends[i]]` (labels indexes).
    pub(super) tag_ids: Vec<u32>,
    pub(super) tag_ends: Vec<u32>,
    /// Tokens per field (BM25's document length).
    pub(super) lens: Vec<[u32; FIELD_COUNT]>,
}

impl Columns {
    pub(super) fn of(docs: &[Doc]) -> Self {
        let mut c = Self::default();
        let mut label_ids: std::collections::HashMap<String, u32> = Default::default();
        let mut label = |c: &mut Self, l: &str| -> u32 {
            if let Some(&id) = label_ids.get(l) {
                return id;
            }
            c.labels.push(l.to_string());
            let id = c.labels.len() as u32 - 1;
            label_ids.insert(l.to_string(), id);
            id
        };
        for d in docs {
            c.names.push_str(&d.name);
            c.name_ends.push(c.names.len() as u32);
            c.downloads.push(d.downloads);
            c.published.push(d.published);
            let category = d.category.as_deref().map_or(0, |l| label(&mut c, l) + 1);
            c.category.push(category);
            for t in &d.tags {
                let id = label(&mut c, t);
                c.tag_ids.push(id);
            }
            c.tag_ends.push(c.tag_ids.len() as u32);
            c.lens
                .push(std::array::from_fn(|f| d.fields[f].len() as u32));
        }
        c
    }

    pub(super) fn len(&self) -> usize {
        self.name_ends.len()
    }

    pub(super) fn name(&self, i: usize) -> &str {
        let start = if i == 0 {
            0
        } else {
            self.name_ends[i - 1] as usize
        };
        &self.names[start..self.name_ends[i] as usize]
    }

    pub(super) fn position(&self, name: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.name(mid).cmp(name) {
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

    pub(super) fn tags(&self, i: usize) -> &[u32] {
        let start = if i == 0 {
            0
        } else {
            self.tag_ends[i - 1] as usize
        };
        &self.tag_ids[start..self.tag_ends[i] as usize]
    }

    /// Everything `name`, `tags` and the filters index is in range, and the
    /// names are sorted and distinct (checked once per load, in O(docs)).
    pub(super) fn check(&self) -> std::result::Result<(), String> {
        let n = self.len();
        if [
            self.downloads.len(),
            self.published.len(),
            self.category.len(),
            self.tag_ends.len(),
            self.lens.len(),
        ]
        .iter()
        .any(|&l| l != n)
        {
            return Err("ranking columns of different lengths".into());
        }
        let ordered = |ends: &[u32], total: usize| {
            ends.windows(2).all(|w| w[0] <= w[1])
                && ends.last().is_none_or(|&e| e as usize == total)
        };
        if !ordered(&self.name_ends, self.names.len())
            || (0..n).any(|i| {
                let start = if i == 0 {
                    0
                } else {
                    self.name_ends[i - 1] as usize
                };
                !self.names.is_char_boundary(start)
            })
        {
            return Err("name offsets out of range".into());
        }
        if (1..n).any(|i| self.name(i - 1) >= self.name(i)) {
            return Err("documents are not sorted by name".into());
        }
        let labels = self.labels.len() as u32;
        if !ordered(&self.tag_ends, self.tag_ids.len())
            || self.tag_ids.iter().any(|&t| t >= labels)
            || self.category.iter().any(|&c| c > labels)
        {
            return Err("tag or category out of range".into());
        }
        Ok(())
    }
}

pub(super) fn average_lengths(c: &Columns) -> [f32; FIELD_COUNT] {
    let mut avg = [0f32; FIELD_COUNT];
    if c.len() > 0 {
        for (f, a) in avg.iter_mut().enumerate() {
            let total: u64 = c.lens.iter().map(|l| u64::from(l[f])).sum();
            *a = total as f32 / c.len() as f32;
        }
    }
    avg
}
