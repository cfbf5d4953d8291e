//! The tantivy index beside `index.json`.
//!
//! One document per package (its latest version). Stored fields hold what a search
//! hit shows, so a search never has to parse `index.json`. The commit payload
//! records the size and modification time of the `index.json` it was built from;
//! when they differ (a crash between the two writes, a restored backup, a manual
//! edit) the index is rebuilt before it is used.

mod clauses;
mod queries;

use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use clauses::Clause;
use ggen_marketplace_core::model::Package;
use ggen_marketplace_core::ranking::Field as Ranked;
use ggen_marketplace_core::search::{
    self, QueryPlan, SearchHit, SearchQuery, SearchResults, SortOrder,
};
use ggen_marketplace_core::{BackendKind, MarketplaceError, Result};
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};

/// The tantivy index's directory in the registry directory.
pub const SEARCH_DIR: &str = "search-index";
const WORDS: &str = "ggen_words";
const WRITER_BUDGET: usize = 30_000_000;

/// The index's fields: what is ranked, filtered on, sorted by and shown.
#[derive(Clone, Copy)]
struct Fields {
    name: Field,
    name_words: Field,
    description: Field,
    tags: Field,
    keywords: Field,
    category: Field,
    author: Field,
    tag_exact: Field,
    category_exact: Field,
    version: Field,
    downloads: Field,
    published: Field,
}

impl Fields {
    /// The indexed field of a ranked field.
    fn of(&self, field: Ranked) -> Field {
        match field {
            Ranked::Name => self.name_words,
            Ranked::Tags => self.tags,
            Ranked::Keywords => self.keywords,
            Ranked::Category => self.category,
            Ranked::Description => self.description,
            Ranked::Author => self.author,
        }
    }
}

fn schema() -> (Schema, Fields) {
    let mut sb = Schema::builder();
    let words = |stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(WORDS)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored { o.set_stored() } else { o }
    };
    let fields = Fields {
        name: sb.add_text_field("name", STRING | STORED | FAST),
        name_words: sb.add_text_field("name_words", words(false)),
        description: sb.add_text_field("description", words(true)),
        tags: sb.add_text_field("tags", words(true)),
        keywords: sb.add_text_field("keywords", words(false)),
        category: sb.add_text_field("category", words(true)),
        author: sb.add_text_field("author", words(false)),
        tag_exact: sb.add_text_field("tag_exact", STRING),
        category_exact: sb.add_text_field("category_exact", STRING),
        version: sb.add_text_field("version", STORED),
        downloads: sb.add_u64_field("downloads", FAST | STORED),
        published: sb.add_i64_field("published", INDEXED | FAST),
    };
    (sb.build(), fields)
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// One token of core's query plan as the indexed fields hold it (ASCII-folded).
fn fold(token: &str) -> String {
    analyze(token)
        .into_iter()
        .next()
        .unwrap_or_else(|| token.to_string())
}

/// Tokenizes query text exactly as the indexed fields were tokenized.
fn analyze(text: &str) -> Vec<String> {
    let mut a = analyzer();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        if !out.contains(&t.text) {
            out.push(t.text.clone());
        }
    }
    out
}

/// What the index was built from: `index.json`'s length and mtime.
pub fn stamp_of(index_json: &Path) -> Option<String> {
    let meta = std::fs::metadata(index_json).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!("len={};mtime={}", meta.len(), mtime))
}

pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl SearchIndex {
    /// Opens the index in `dir`; `None` when it is missing, unreadable or was built
    /// from a different `index.json` (see the module docs), i.e. must be rebuilt.
    pub fn open_if_fresh(dir: &Path, expected_stamp: Option<&str>) -> Option<Self> {
        let opened = (|| -> tantivy::Result<Self> {
            let index = Index::open_in_dir(dir)?;
            Self::from_index(dir, index)
        })();
        match opened {
            Ok(si) => {
                let payload = si.index.load_metas().ok()?.payload;
                if payload.as_deref() == expected_stamp && expected_stamp.is_some() {
                    Some(si)
                } else {
                    tracing::info!(dir = %dir.display(), "search index is stale; rebuilding");
                    None
                }
            }
            Err(e) => {
                if dir.exists() {
                    tracing::warn!(dir = %dir.display(), error = %e, "search index unreadable; rebuilding");
                }
                None
            }
        }
    }

    fn from_index(dir: &Path, index: Index) -> tantivy::Result<Self> {
        index.tokenizers().register(WORDS, analyzer());
        let (expected, fields) = schema();
        if index.schema() != expected {
            return Err(tantivy::TantivyError::SchemaError(
                "schema differs from this version of ggen".into(),
            ));
        }
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            dir: dir.to_path_buf(),
            index,
            reader,
            fields,
        })
    }

    /// Builds a fresh index in a temporary directory and swaps it into `dir`, so a
    /// crash mid-build leaves the old index (which will be seen as stale) in place.
    pub fn rebuild<'a>(
        dir: &Path,
        packages: impl IntoIterator<Item = &'a Package>,
        stamp: Option<&str>,
    ) -> Result<Self> {
        let err = |e: tantivy::TantivyError| MarketplaceError::SearchIndex {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        };
        let parent = dir.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| MarketplaceError::io(parent, e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".search-index-new")
            .tempdir_in(parent)
            .map_err(|e| MarketplaceError::io(parent, e))?;
        {
            let (schema, _) = schema();
            let index = Index::create_in_dir(tmp.path(), schema).map_err(err)?;
            let si = Self::from_index(tmp.path(), index).map_err(err)?;
            let writer = si.writer()?;
            for pkg in packages {
                writer.add_document(si.document(pkg)).map_err(err)?;
            }
            si.commit(writer, stamp)?;
        }
        let old = parent.join(".search-index-old");
        let _ = std::fs::remove_dir_all(&old);
        if dir.exists() {
            std::fs::rename(dir, &old).map_err(|e| MarketplaceError::io(dir, e))?;
        }
        let built = tmp.keep();
        std::fs::rename(&built, dir).map_err(|e| MarketplaceError::io(dir, e))?;
        ggen_marketplace_core::fsutil::sync_dir(parent);
        let _ = std::fs::remove_dir_all(&old);
        let index = Index::open_in_dir(dir).map_err(err)?;
        Self::from_index(dir, index).map_err(err)
    }

    fn writer(&self) -> Result<IndexWriter> {
        self.index
            .writer_with_num_threads(1, WRITER_BUDGET)
            .map_err(|e| MarketplaceError::SearchIndex {
                path: self.dir.clone(),
                reason: e.to_string(),
            })
    }

    fn commit(&self, mut writer: IndexWriter, stamp: Option<&str>) -> Result<()> {
        let err = |e: tantivy::TantivyError| MarketplaceError::SearchIndex {
            path: self.dir.clone(),
            reason: e.to_string(),
        };
        let mut prepared = writer.prepare_commit().map_err(err)?;
        prepared.set_payload(stamp.unwrap_or(""));
        prepared.commit().map_err(err)?;
        writer.wait_merging_threads().map_err(err)?;
        self.reader.reload().map_err(err)?;
        Ok(())
    }

    /// Replaces the documents of `packages` (their latest versions) and drops
    /// those of `removed` (names with no version left), in one commit.
    pub fn upsert(
        &self,
        packages: &[&Package],
        removed: &[&str],
        stamp: Option<&str>,
    ) -> Result<()> {
        let writer = self.writer()?;
        for name in removed {
            writer.delete_term(Term::from_field_text(self.fields.name, name));
        }
        for pkg in packages {
            writer.delete_term(Term::from_field_text(self.fields.name, &pkg.name));
            writer
                .add_document(self.document(pkg))
                .map_err(|e| MarketplaceError::SearchIndex {
                    path: self.dir.clone(),
                    reason: e.to_string(),
                })?;
        }
        self.commit(writer, stamp)
    }

    fn document(&self, pkg: &Package) -> TantivyDocument {
        let f = &self.fields;
        let v = pkg.latest();
        let mut d = TantivyDocument::default();
        d.add_text(f.name, &pkg.name);
        d.add_text(f.name_words, &pkg.name);
        d.add_text(f.description, &v.description);
        for t in &v.tags {
            d.add_text(f.tags, t);
            d.add_text(f.tag_exact, t.to_lowercase());
        }
        for k in &v.keywords {
            d.add_text(f.keywords, k);
        }
        if let Some(c) = &v.category {
            d.add_text(f.category, c);
            d.add_text(f.category_exact, c.to_lowercase());
        }
        for a in &v.authors {
            d.add_text(f.author, a);
        }
        d.add_text(f.version, v.version.to_string());
        d.add_u64(f.downloads, pkg.downloads);
        d.add_i64(f.published, v.published_at.map_or(0, |t| t.timestamp()));
        d
    }

    pub fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        query.validate()?;
        let started = Instant::now();
        let plan = search::plan(&query.text, false);
        let mut results = self.search_with(query, &plan)?;
        // Short words' typos only when nothing else matched (core's policy).
        if results.total == 0 && plan.withheld_typos {
            results = self.search_with(query, &search::plan(&query.text, true))?;
        }
        results.query_time = started.elapsed();
        Ok(results)
    }

    fn search_with(&self, query: &SearchQuery, plan: &QueryPlan) -> Result<SearchResults> {
        let started = Instant::now();
        let f = &self.fields;
        let searcher = self.reader.searcher();
        let err = |e: tantivy::TantivyError| MarketplaceError::SearchIndex {
            path: self.dir.clone(),
            reason: e.to_string(),
        };
        // The filters (category, tags), each required, scoring nothing.
        let mut filters: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let exact = |field, label: &str| -> (Occur, Box<dyn Query>) {
            let t = Term::from_field_text(field, &label.to_lowercase());
            let q = TermQuery::new(t, IndexRecordOption::Basic);
            (
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(q), 0.0)),
            )
        };
        filters.extend(query.category.iter().map(|c| exact(f.category_exact, c)));
        filters.extend(query.tags.iter().map(|t| exact(f.tag_exact, t)));
        let filter: Option<Box<dyn Query>> =
            (!filters.is_empty()).then(|| Box::new(BooleanQuery::new(filters)) as Box<dyn Query>);
        let has_text = !plan.words.is_empty();
        let clauses = clauses::text_clauses(f, &searcher, &query.text, plan).map_err(err)?;
        // `--explain` reports each clause's part, so it keeps copies of them.
        let explained: Vec<Clause> = if query.explain {
            let coverage = clauses::coverage_clauses(&clauses, plan);
            clauses.iter().cloned().chain(coverage).collect()
        } else {
            Vec::new()
        };
        let q: Box<dyn Query> = match (has_text, filter) {
            // The filter goes into every clause: each then skips to the
            // filtered documents instead of the union scoring them all.
            (true, filter) => clauses::compose(clauses, plan, filter.as_deref()),
            (false, Some(filter)) => filter,
            (false, None) => Box::new(AllQuery),
        };
        let top = TopDocs::with_limit(query.limit).and_offset(query.offset);
        let (addrs, total): (Vec<(f32, DocAddress)>, usize) = match query.sort {
            SortOrder::Relevance if has_text => {
                let c = top.order_by((
                    (SortBySimilarityScore, Order::Desc),
                    (
                        SortByStaticFastValue::<u64>::for_field("downloads"),
                        Order::Desc,
                    ),
                ));
                let (hits, total) = searcher.search(&q, &(c, Count)).map_err(err)?;
                (hits.into_iter().map(|((s, _), a)| (s, a)).collect(), total)
            }
            // With no text every score is equal: relevance means popularity.
            SortOrder::Relevance | SortOrder::Downloads => {
                let c = top.order_by_u64_field("downloads", Order::Desc);
                let (hits, total) = searcher.search(&q, &(c, Count)).map_err(err)?;
                (hits.into_iter().map(|(_, a)| (0.0, a)).collect(), total)
            }
            SortOrder::Name => {
                let c = top.order_by_string_fast_field("name", Order::Asc);
                let (hits, total) = searcher.search(&q, &(c, Count)).map_err(err)?;
                (hits.into_iter().map(|(_, a)| (0.0, a)).collect(), total)
            }
            SortOrder::Recent => {
                let c = top.order_by_fast_field::<i64>("published", Order::Desc);
                let (hits, total) = searcher.search(&q, &(c, Count)).map_err(err)?;
                (hits.into_iter().map(|(_, a)| (0.0, a)).collect(), total)
            }
        };
        let weights = if query.explain {
            explained
                .into_iter()
                .map(|c| {
                    let w = c
                        .query
                        .weight(tantivy::query::EnableScoring::enabled_from_searcher(
                            &searcher,
                        ))
                        .map_err(err)?;
                    Ok((c.part, w))
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        let mut hits = Vec::with_capacity(addrs.len());
        for (score, addr) in addrs {
            let d: TantivyDocument = searcher.doc(addr).map_err(err)?;
            let text = |field| {
                d.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let version = text(f.version);
            hits.push(SearchHit {
                name: text(f.name),
                version: version.parse().map_err(|_| MarketplaceError::SearchIndex {
                    path: self.dir.clone(),
                    reason: format!("stored version `{version}` is not semver"),
                })?,
                description: text(f.description),
                category: d
                    .get_first(f.category)
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                tags: d
                    .get_all(f.tags)
                    .filter_map(|v| v.as_str())
                    .map(str::to_string)
                    .collect(),
                downloads: d
                    .get_first(f.downloads)
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0),
                score,
                explain: clauses::explain(&searcher, &weights, addr).map_err(|e| {
                    MarketplaceError::backend("v1", format!("explaining a hit: {e}"))
                })?,
            });
        }
        Ok(SearchResults {
            hits,
            total,
            backend_used: BackendKind::V1,
            query_time: started.elapsed(),
        })
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}
