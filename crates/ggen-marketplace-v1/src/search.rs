//! The tantivy index beside `index.json`.
//!
//! One document per package (its latest version). Stored fields hold what a search
//! hit shows, so a search never has to parse `index.json`. The commit payload
//! records the size and modification time of the `index.json` it was built from;
//! when they differ (a crash between the two writes, a restored backup, a manual
//! edit) the index is rebuilt before it is used.

use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use ggen_marketplace_core::model::Package;
use ggen_marketplace_core::ranking::{self, Field as Ranked};
use ggen_marketplace_core::search::{
    self, MatchKind, MatchPart, QueryPlan, SearchHit, SearchQuery, SearchResults, SortOrder,
};
use ggen_marketplace_core::{BackendKind, MarketplaceError, Result};
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
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
/// One scoring clause of a text query and the score part it stands for.
struct Clause {
    part: MatchPart,
    query: Box<dyn Query>,
    /// The query words (positions in the plan) a match of it counts for.
    covers: Vec<usize>,
}

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

    /// Replaces the documents of the given packages (their latest versions).
    /// Replaces the documents of `packages` and drops those of `removed` (names
    /// with no version left), in one commit.
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

    /// The scoring clauses of a text query, each with the part of a score
    /// it stands for in `--explain` (its score filled in per hit). The
    /// policy is core's (`ranking`, `search::plan`): the whole query as a
    /// name; BM25 x field weight per word, plus prefix and typo matches; and
    /// stem and topic expansions, at a share of the weight.
    fn text_clauses(&self, text: &str, plan: &QueryPlan) -> Vec<Clause> {
        let f = &self.fields;
        let mut clauses: Vec<Clause> = Vec::new();
        let mut add = |part: MatchPart, query: Box<dyn Query>, covers: Vec<usize>| {
            clauses.push(Clause {
                part,
                query,
                covers,
            })
        };
        if plan.words.is_empty() {
            return Vec::new();
        }
        let terms: Vec<String> = plan.words.iter().map(|w| fold(&w.text)).collect();
        // The whole query as a package name, as typed and with words joined by `-`.
        for candidate in [text.trim().to_lowercase(), terms.join("-")] {
            let exact = TermQuery::new(
                Term::from_field_text(f.name, &candidate),
                IndexRecordOption::Basic,
            );
            add(
                MatchPart::word(Ranked::Name, MatchKind::Name, &candidate, 0.0),
                Box::new(ConstScoreQuery::new(
                    Box::new(exact),
                    ranking::EXACT_NAME_SCORE,
                )),
                Vec::new(),
            );
        }
        let field_of = |field: Ranked| match field {
            Ranked::Name => f.name_words,
            Ranked::Tags => f.tags,
            Ranked::Keywords => f.keywords,
            Ranked::Category => f.category,
            Ranked::Description => f.description,
            Ranked::Author => f.author,
        };
        for (wi, (word, term)) in plan.words.iter().zip(&terms).enumerate() {
            for field in Ranked::ALL {
                let boost = field.weight();
                let part = |kind| MatchPart::word(field, kind, &word.text, 0.0);
                let t = Term::from_field_text(field_of(field), term);
                let q = TermQuery::new(t.clone(), IndexRecordOption::WithFreqs);
                add(
                    part(MatchKind::Exact),
                    Box::new(BoostQuery::new(Box::new(q), boost)),
                    vec![wi],
                );
                if word.prefix && boost >= ranking::PREFIX_MIN_WEIGHT {
                    let q = FuzzyTermQuery::new_prefix(t.clone(), 0, true);
                    add(
                        part(MatchKind::Prefix),
                        Box::new(BoostQuery::new(Box::new(q), boost * ranking::PREFIX_FACTOR)),
                        // Not a word found as typed: no coverage (see `ranking`).
                        Vec::new(),
                    );
                }
                if let Some(distance) = word.typo
                    && boost >= ranking::TYPO_MIN_WEIGHT
                {
                    let q = FuzzyTermQuery::new(t, distance, true);
                    add(
                        part(MatchKind::Typo),
                        Box::new(BoostQuery::new(Box::new(q), boost * ranking::TYPO_FACTOR)),
                        // Not a word found as typed: no coverage (see `ranking`).
                        Vec::new(),
                    );
                }
            }
        }
        // An expansion matches a field holding all its words, once per field.
        for e in &plan.expansions {
            let folded: Vec<String> = e.tokens.iter().map(|t| fold(t)).collect();
            for field in Ranked::ALL {
                let boost = field.weight();
                if boost < ranking::EXPANSION_MIN_WEIGHT {
                    continue;
                }
                let mut all: Vec<(Occur, Box<dyn Query>)> = folded
                    .iter()
                    .map(|t| {
                        let q: Box<dyn Query> = Box::new(TermQuery::new(
                            Term::from_field_text(field_of(field), t),
                            IndexRecordOption::Basic,
                        ));
                        (Occur::Must, q)
                    })
                    .collect();
                // One word (most stems and labels) needs no conjunction around it.
                let matches: Box<dyn Query> = if all.len() == 1 {
                    all.pop().expect("one").1
                } else {
                    Box::new(BooleanQuery::new(all))
                };
                add(
                    MatchPart::expansion(field, e, 0.0),
                    Box::new(ConstScoreQuery::new(matches, boost * e.factor)),
                    e.covers.clone(),
                );
            }
        }
        // Each query word matched anywhere, once (`ranking::WORD_COVERAGE_SCORE`).
        if plan.counts_words() {
            for (wi, word) in plan.words.iter().enumerate().take(64) {
                let any: Vec<(Occur, Box<dyn Query>)> = clauses
                    .iter()
                    .filter(|c| c.covers.contains(&wi))
                    .map(|c| (Occur::Should, c.query.box_clone()))
                    .collect();
                clauses.push(Clause {
                    part: MatchPart::covered(&word.text),
                    query: Box::new(ConstScoreQuery::new(
                        Box::new(BooleanQuery::new(any)),
                        ranking::WORD_COVERAGE_SCORE,
                    )),
                    covers: Vec::new(),
                });
            }
        }
        clauses
    }

    /// What each clause added to the score of the document at `addr`.
    fn explain(
        searcher: &tantivy::Searcher,
        clauses: &[(MatchPart, Box<dyn tantivy::query::Weight>)],
        addr: DocAddress,
    ) -> Result<Vec<MatchPart>> {
        let reader = searcher.segment_reader(addr.segment_ord);
        let mut parts = Vec::new();
        for (part, weight) in clauses {
            match weight.explain(reader, addr.doc_id) {
                Ok(e) => parts.push(MatchPart {
                    score: e.value(),
                    ..part.clone()
                }),
                // The clause does not match this document.
                Err(tantivy::TantivyError::InvalidArgument(_)) => {}
                Err(e) => {
                    return Err(MarketplaceError::backend(
                        "v1",
                        format!("explaining a hit: {e}"),
                    ));
                }
            }
        }
        Ok(parts)
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
        let mut musts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut clauses = self.text_clauses(&query.text, plan);
        let has_text = !clauses.is_empty();
        let text: Box<dyn Query> = if has_text {
            // The clauses are kept for `--explain` only; else they move in.
            let should = if query.explain {
                clauses
                    .iter()
                    .map(|c| (Occur::Should, c.query.box_clone()))
                    .collect()
            } else {
                clauses
                    .drain(..)
                    .map(|c| (Occur::Should, c.query))
                    .collect()
            };
            Box::new(BooleanQuery::new(should))
        } else {
            Box::new(AllQuery)
        };
        musts.push((Occur::Must, text));
        if let Some(c) = &query.category {
            let q = TermQuery::new(
                Term::from_field_text(f.category_exact, &c.to_lowercase()),
                IndexRecordOption::Basic,
            );
            musts.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(q), 0.0)),
            ));
        }
        for tag in &query.tags {
            let q = TermQuery::new(
                Term::from_field_text(f.tag_exact, &tag.to_lowercase()),
                IndexRecordOption::Basic,
            );
            musts.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(q), 0.0)),
            ));
        }
        let q = BooleanQuery::new(musts);
        let searcher = self.reader.searcher();
        let err = |e: tantivy::TantivyError| MarketplaceError::SearchIndex {
            path: self.dir.clone(),
            reason: e.to_string(),
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
            clauses
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
                explain: Self::explain(&searcher, &weights, addr)?,
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
