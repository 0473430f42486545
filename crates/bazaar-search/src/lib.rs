//! # bazaar-search
//!
//! Product search as buyers type it: an in-memory tantivy index over the listed products,
//! with Chinese word segmentation (jieba) and pinyin, so that 蜂蜜, `fengmi` and `fm` all find
//! 罗布麻蜂蜜 and 阿西木土蜂蜜. SKU codes and barcodes are indexed verbatim.
//!
//! How text becomes terms (the same on both sides, index and query):
//! - Chinese text: jieba's search-mode words, plus every character bigram and unigram, so a
//!   query word the dictionary does not know still matches;
//! - pinyin: for every word, its full pinyin (`fengmi`), its syllables (`feng`, `mi`) and its
//!   initials (`fm`); also the whole name's pinyin and initials (`lbmfm`);
//! - Latin words are lowercased.
//!
//! Ranking is BM25 with the name counting most, then pinyin, then the brand, county, seller
//! and description. When a query finds nothing, a relaxed query (typo-tolerant on pinyin and
//! Latin terms, any-character on Chinese) supplies "did you mean" suggestions.
//!
//! The index knows nothing of the database: the caller builds it from [`SearchDoc`]s and
//! rebuilds it when the catalog changes.
#![forbid(unsafe_code)]

use jieba_rs::Jieba;
use pinyin::ToPinyin;
use std::collections::BTreeSet;
use std::sync::OnceLock;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{LowerCaser, TextAnalyzer, WhitespaceTokenizer};
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};

/// Search failed inside the index (never because of what a buyer typed).
#[derive(Debug, thiserror::Error)]
#[error("search index error: {0}")]
pub struct SearchError(#[from] tantivy::TantivyError);

/// One product as the index sees it.
#[derive(Debug, Clone, Default)]
pub struct SearchDoc {
    /// Product id.
    pub id: i64,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// GI brand.
    pub gi_brand: String,
    /// Category code.
    pub category: String,
    /// Category display words (both languages), searchable.
    pub category_words: String,
    /// County code (filter).
    pub county_code: String,
    /// County and village names, searchable.
    pub place: String,
    /// Seller name.
    pub seller: String,
    /// Description.
    pub description: String,
    /// Poverty-alleviation product (filter).
    pub poverty: bool,
    /// SKU codes and barcodes, matched verbatim.
    pub codes: Vec<String>,
    /// Its names and producers' names in other languages (Uyghur, Tibetan, English), searched
    /// as names.
    pub translations: Vec<String>,
}

/// Filters applied to every query.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// County code.
    pub county: Option<String>,
    /// Category code.
    pub category: Option<String>,
    /// GI brand (exact).
    pub gi_brand: Option<String>,
    /// Only poverty-alleviation products.
    pub poverty: bool,
}

/// The deepest a search pages: results past the first 10,000 are not served (the ranking
/// collector holds `offset + limit` hits in memory).
pub const MAX_WINDOW: usize = 10_000;
/// The largest page of results.
pub const MAX_PAGE: usize = 100;

/// What a search found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hits {
    /// Product ids, best first.
    pub ids: Vec<i64>,
    /// Total matches.
    pub total: usize,
    /// True when nothing matched exactly and these are similar products instead.
    pub relaxed: bool,
    /// Names to suggest ("did you mean").
    pub suggestions: Vec<String>,
}

struct Fields {
    id: Field,
    name: Field,
    py: Field,
    extra: Field,
    code: Field,
    county: Field,
    category: Field,
    gi: Field,
    poverty: Field,
}

/// An immutable search index over a snapshot of the catalog.
pub struct SearchIndex {
    reader: IndexReader,
    f: Fields,
    names: std::collections::HashMap<i64, String>,
    docs: usize,
}

fn jieba() -> &'static Jieba {
    static J: OnceLock<Jieba> = OnceLock::new();
    J.get_or_init(Jieba::new)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// Chinese terms of a text: jieba words, character bigrams and unigrams.
fn cjk_terms(text: &str, out: &mut BTreeSet<String>) {
    for run in text.split(|c: char| !is_cjk(c)).filter(|s| !s.is_empty()) {
        for w in jieba().cut_for_search(run, true) {
            out.insert(w.to_string());
        }
        let chars: Vec<char> = run.chars().collect();
        for c in &chars {
            out.insert(c.to_string());
        }
        for w in chars.windows(2) {
            out.insert(w.iter().collect());
        }
    }
}

/// Latin words of a text, lowercased (letters and digits).
fn latin_terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Where a word of a script without spaces-and-ASCII ends: spaces, ASCII punctuation, and
/// the punctuation of the scripts pages are written in (Tibetan tsheg and shad, Arabic comma,
/// semicolon, question mark and full stop, Chinese and quotation marks). Combining marks stay
/// inside the word: a Tibetan syllable keeps its vowel sign, an Uyghur word its letters.
fn word_break(c: char) -> bool {
    c.is_whitespace()
        || c.is_ascii_punctuation()
        || matches!(
            c,
            '\u{0F0B}'
                ..='\u{0F14}'
                    | '\u{060C}'
                    | '\u{061B}'
                    | '\u{061F}'
                    | '\u{06D4}'
                    | '«'
                    | '»'
                    | '“'
                    | '”'
                    | '（'
                    | '）'
                    | '，'
                    | '。'
                    | '、'
                    | '·'
        )
}

/// Words of a text in scripts other than Latin and Chinese (Uyghur's Arabic script, Tibetan,
/// Cyrillic), lowercased, with the tatweel and invisible joiners dropped.
fn script_terms(text: &str) -> Vec<String> {
    text.split(word_break)
        .map(|w| {
            w.chars()
                .filter(|c| !matches!(c, '\u{0640}' | '\u{200B}'..='\u{200F}' | '\u{2060}'))
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty() && !w.is_ascii() && !w.chars().any(is_cjk))
        .collect()
}

/// Pinyin terms of a text: per jieba word its full pinyin, syllables and initials, and the
/// whole text's full pinyin and initials.
fn pinyin_terms(text: &str, out: &mut BTreeSet<String>) {
    let mut all_full = String::new();
    let mut all_init = String::new();
    for run in text.split(|c: char| !is_cjk(c)).filter(|s| !s.is_empty()) {
        for w in jieba().cut(run, true) {
            let mut full = String::new();
            let mut init = String::new();
            for p in w.to_pinyin().flatten() {
                out.insert(p.plain().to_string());
                full.push_str(p.plain());
                init.push_str(p.first_letter());
            }
            if !full.is_empty() {
                all_full.push_str(&full);
                all_init.push_str(&init);
                out.insert(full);
                out.insert(init);
            }
        }
    }
    if !all_full.is_empty() {
        out.insert(all_full);
        out.insert(all_init);
    }
}

fn join(set: BTreeSet<String>) -> String {
    set.into_iter().collect::<Vec<_>>().join(" ")
}

impl SearchIndex {
    /// Builds an index over `docs`.
    pub fn build(docs: &[SearchDoc]) -> Result<SearchIndex, SearchError> {
        let mut sb = Schema::builder();
        let ws = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("ws")
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let f = Fields {
            id: sb.add_i64_field("id", STORED),
            name: sb.add_text_field("name", ws.clone()),
            py: sb.add_text_field("py", ws.clone()),
            extra: sb.add_text_field("extra", ws),
            code: sb.add_text_field("code", STRING),
            county: sb.add_text_field("county", STRING),
            category: sb.add_text_field("category", STRING),
            gi: sb.add_text_field("gi", STRING),
            poverty: sb.add_text_field("poverty", STRING),
        };
        let index = Index::create_in_ram(sb.build());
        index.tokenizers().register(
            "ws",
            TextAnalyzer::builder(WhitespaceTokenizer::default())
                .filter(LowerCaser)
                .build(),
        );
        let mut writer = index.writer_with_num_threads(1, 20_000_000)?;
        let mut names = std::collections::HashMap::new();
        for d in docs {
            let mut name = BTreeSet::new();
            cjk_terms(&d.name, &mut name);
            name.extend(latin_terms(&d.name));
            name.extend(latin_terms(&d.name_en));
            for t in &d.translations {
                name.extend(latin_terms(t));
                name.extend(script_terms(t));
            }
            let mut py = BTreeSet::new();
            pinyin_terms(&d.name, &mut py);
            pinyin_terms(&d.gi_brand, &mut py);
            let mut extra = BTreeSet::new();
            for t in [
                &d.gi_brand,
                &d.place,
                &d.seller,
                &d.description,
                &d.category_words,
            ] {
                cjk_terms(t, &mut extra);
                extra.extend(latin_terms(t));
                extra.extend(script_terms(t));
            }
            let mut doc = doc!(
                f.id => d.id,
                f.name => join(name),
                f.py => join(py),
                f.extra => join(extra),
                f.county => d.county_code.clone(),
                f.category => d.category.clone(),
                f.gi => d.gi_brand.clone(),
                f.poverty => if d.poverty { "1" } else { "0" },
            );
            for c in &d.codes {
                doc.add_text(f.code, c.to_lowercase());
            }
            writer.add_document(doc)?;
            names.insert(d.id, d.name.clone());
        }
        writer.commit()?;
        let reader = index.reader()?;
        reader.reload()?;
        Ok(SearchIndex {
            reader,
            f,
            names,
            docs: docs.len(),
        })
    }

    /// Number of products indexed.
    pub fn len(&self) -> usize {
        self.docs
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.docs == 0
    }

    fn filter_clauses(&self, filters: &Filters) -> Vec<(Occur, Box<dyn Query>)> {
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut must = |field: Field, v: &str| {
            out.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(field, v),
                    IndexRecordOption::Basic,
                )),
            ));
        };
        if let Some(c) = &filters.county {
            must(self.f.county, c);
        }
        if let Some(c) = &filters.category {
            must(self.f.category, c);
        }
        if let Some(g) = &filters.gi_brand {
            must(self.f.gi, g);
        }
        if filters.poverty {
            must(self.f.poverty, "1");
        }
        out
    }

    fn term(&self, field: Field, t: &str, boost: f32) -> Box<dyn Query> {
        Box::new(BoostQuery::new(
            Box::new(TermQuery::new(
                Term::from_field_text(field, t),
                IndexRecordOption::WithFreqs,
            )),
            boost,
        ))
    }

    /// The strict query: every query word must match somewhere (Chinese by its bigrams, Latin
    /// as a word, a pinyin word or prefix, or a code).
    fn strict_query(&self, q: &str) -> Option<BooleanQuery> {
        let mut words: Vec<Box<dyn Query>> = Vec::new();
        for run in q.split(|c: char| !is_cjk(c)).filter(|s| !s.is_empty()) {
            let chars: Vec<char> = run.chars().collect();
            let grams: Vec<String> = if chars.len() == 1 {
                vec![run.to_string()]
            } else {
                chars.windows(2).map(|w| w.iter().collect()).collect()
            };
            for g in grams {
                words.push(Box::new(BooleanQuery::new(vec![
                    (Occur::Should, self.term(self.f.name, &g, 3.0)),
                    (Occur::Should, self.term(self.f.extra, &g, 1.0)),
                ])));
            }
        }
        for w in latin_terms(q) {
            let mut alts: Vec<(Occur, Box<dyn Query>)> = vec![
                (Occur::Should, self.term(self.f.name, &w, 3.0)),
                (Occur::Should, self.term(self.f.py, &w, 2.0)),
                (Occur::Should, self.term(self.f.extra, &w, 1.0)),
                (Occur::Should, self.term(self.f.code, &w, 3.0)),
            ];
            if w.len() >= 2 {
                // As the buyer types: "fen" already finds "fengmi".
                alts.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(FuzzyTermQuery::new_prefix(
                            Term::from_field_text(self.f.py, &w),
                            0,
                            true,
                        )),
                        1.0,
                    )),
                ));
            }
            words.push(Box::new(BooleanQuery::new(alts)));
        }
        for w in script_terms(q) {
            let mut alts: Vec<(Occur, Box<dyn Query>)> = vec![
                (Occur::Should, self.term(self.f.name, &w, 3.0)),
                (Occur::Should, self.term(self.f.extra, &w, 1.0)),
            ];
            if w.chars().count() >= 2 {
                // A word's start finds it with its endings: ھەس finds ھەسىلى.
                alts.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(FuzzyTermQuery::new_prefix(
                            Term::from_field_text(self.f.name, &w),
                            0,
                            true,
                        )),
                        1.0,
                    )),
                ));
            }
            words.push(Box::new(BooleanQuery::new(alts)));
        }
        if words.is_empty() {
            return None;
        }
        Some(BooleanQuery::new(
            words.into_iter().map(|w| (Occur::Must, w)).collect(),
        ))
    }

    /// The relaxed query: any Chinese character, or a pinyin/Latin word within one or two
    /// typos.
    fn relaxed_query(&self, q: &str) -> Option<BooleanQuery> {
        let mut alts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for c in q.chars().filter(|c| is_cjk(*c)) {
            alts.push((Occur::Should, self.term(self.f.name, &c.to_string(), 2.0)));
            alts.push((Occur::Should, self.term(self.f.extra, &c.to_string(), 0.5)));
        }
        for w in latin_terms(q) {
            let d = match w.chars().count() {
                0..=3 => continue,
                4..=6 => 1,
                _ => 2,
            };
            for field in [self.f.py, self.f.name] {
                alts.push((
                    Occur::Should,
                    Box::new(FuzzyTermQuery::new(
                        Term::from_field_text(field, &w),
                        d,
                        true,
                    )),
                ));
            }
        }
        for w in script_terms(q) {
            if w.chars().count() < 4 {
                continue;
            }
            // An ending of its own (ھەسەل for ھەسىلى): one letter off, anywhere in the start.
            alts.push((
                Occur::Should,
                Box::new(FuzzyTermQuery::new_prefix(
                    Term::from_field_text(self.f.name, &w),
                    1,
                    true,
                )),
            ));
        }
        (!alts.is_empty()).then(|| BooleanQuery::new(alts))
    }

    fn run(
        &self,
        q: BooleanQuery,
        filters: &Filters,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<i64>, usize), SearchError> {
        let mut clauses = self.filter_clauses(filters);
        clauses.push((Occur::Must, Box::new(q)));
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        // The collector keeps `offset + limit` hits in memory: an offset past every document
        // (a cursor a client made up) would ask for petabytes and abort the process. No hit
        // can be there, so only count.
        if limit == 0 || offset >= usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX) {
            return Ok((vec![], searcher.search(&query, &Count)?));
        }
        let (top, total) = searcher.search(
            &query,
            &(TopDocs::with_limit(limit.max(1)).and_offset(offset), Count),
        )?;
        let mut ids = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = d.get_first(self.f.id).and_then(|v| v.as_i64()) {
                ids.push(id);
            }
        }
        Ok((ids, total))
    }

    /// Searches `q` within `filters`; `offset`/`limit` page the ranked results. An empty query
    /// returns nothing (the caller lists instead). The collector allocates for
    /// `offset + limit` hits, so both are bounded here, whoever calls: a page of at most
    /// [`MAX_PAGE`] within the first [`MAX_WINDOW`] results (nothing past it).
    pub fn search(
        &self,
        q: &str,
        filters: &Filters,
        offset: usize,
        limit: usize,
    ) -> Result<Hits, SearchError> {
        // Past the window only the count is taken (a limit of 0).
        let offset = offset.min(MAX_WINDOW);
        let limit = limit.min(MAX_PAGE).min(MAX_WINDOW - offset);
        let q: String = q.chars().take(100).collect();
        let code = q.trim().to_lowercase();
        if !code.is_empty() && code.is_ascii() && !code.contains(char::is_whitespace) {
            let by_code =
                BooleanQuery::new(vec![(Occur::Must, self.term(self.f.code, &code, 1.0))]);
            let (ids, total) = self.run(by_code, filters, offset, limit)?;
            if total > 0 {
                return Ok(Hits {
                    ids,
                    total,
                    relaxed: false,
                    suggestions: Vec::new(),
                });
            }
        }
        let Some(strict) = self.strict_query(&q) else {
            return Ok(Hits::default());
        };
        let (ids, total) = self.run(strict, filters, offset, limit)?;
        if total > 0 {
            return Ok(Hits {
                ids,
                total,
                relaxed: false,
                suggestions: Vec::new(),
            });
        }
        let Some(relaxed) = self.relaxed_query(&q) else {
            return Ok(Hits::default());
        };
        let (ids, total) = self.run(relaxed, filters, offset, limit)?;
        let suggestions = ids
            .iter()
            .take(5)
            .filter_map(|id| self.names.get(id).cloned())
            .collect();
        Ok(Hits {
            ids,
            total,
            relaxed: true,
            suggestions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs() -> Vec<SearchDoc> {
        let d = |id, name: &str, cat: &str, county: &str| SearchDoc {
            id,
            name: name.into(),
            category: cat.into(),
            county_code: county.into(),
            ..Default::default()
        };
        vec![
            d(1, "罗布麻蜂蜜", "honey", "652823"),
            d(2, "阿西木土蜂蜜", "honey", "653122"),
            d(3, "雅江松茸", "fungi", "513325"),
            d(4, "复播小米", "grain_oil", "653122"),
            SearchDoc {
                codes: vec!["P-001-1".into()],
                ..d(5, "库尔勒香梨", "fresh_produce", "652801")
            },
        ]
    }

    fn ids(ix: &SearchIndex, q: &str) -> Vec<i64> {
        let mut v = ix
            .search(q, &Filters::default(), 0, 10)
            .expect("search")
            .ids;
        v.sort();
        v
    }

    #[test]
    fn finds_by_chinese_pinyin_and_initials() {
        let ix = SearchIndex::build(&docs()).expect("index");
        assert_eq!(ids(&ix, "蜂蜜"), [1, 2]);
        assert_eq!(ids(&ix, "fengmi"), [1, 2]);
        assert_eq!(ids(&ix, "fm"), [1, 2]);
        assert_eq!(ids(&ix, "松茸"), [3]);
        assert_eq!(ids(&ix, "songrong"), [3]);
        assert_eq!(ids(&ix, "fen"), [1, 2]);
        assert_eq!(ids(&ix, "p-001-1"), [5]);
        assert_eq!(ids(&ix, "蜂蜜 阿西木"), [2]);
    }

    #[test]
    fn finds_by_uyghur_and_tibetan_names() {
        let mut d = docs();
        d[1].translations = vec![
            "ئاسىم تۇپراق ھەسىلى".into(),
            "Asim soil honey".into(),
            "ཨ་ཞི་མུའི་སྦྲང་རྩི།".into(),
        ];
        d[2].translations = vec!["ياجياڭ ماتسۇتاكې".into()];
        let ix = SearchIndex::build(&d).expect("index");
        assert_eq!(ids(&ix, "ھەسىلى"), [2], "a whole word");
        assert_eq!(ids(&ix, "ھەس"), [2], "its start, as typed");
        assert_eq!(ids(&ix, "ماتسۇتاكې"), [3]);
        assert_eq!(ids(&ix, "སྦྲང་རྩི"), [2], "Tibetan syllables, vowel signs kept");
        assert_eq!(ids(&ix, "honey"), [2]);
        // Its own ending: one letter off still finds it, marked as relaxed.
        let h = ix.search("ھەسەل", &Filters::default(), 0, 10).expect("ok");
        assert_eq!((h.relaxed, h.ids.as_slice()), (true, &[2][..]), "{h:?}");
        assert!(ids(&ix, "قوي").is_empty(), "another word finds nothing");
    }

    #[test]
    fn filters_apply() {
        let ix = SearchIndex::build(&docs()).expect("index");
        let f = Filters {
            county: Some("653122".into()),
            ..Default::default()
        };
        assert_eq!(ix.search("蜂蜜", &f, 0, 10).expect("ok").ids, [2]);
    }

    #[test]
    fn typos_give_suggestions() {
        let ix = SearchIndex::build(&docs()).expect("index");
        let h = ix.search("fengmu", &Filters::default(), 0, 10).expect("ok");
        assert!(h.relaxed);
        assert!(h.suggestions.iter().any(|s| s.contains("蜂蜜")), "{h:?}");
        let h = ix.search("蜂密", &Filters::default(), 0, 10).expect("ok");
        assert!(h.relaxed && !h.ids.is_empty(), "{h:?}");
        let h = ix.search("", &Filters::default(), 0, 10).expect("ok");
        assert_eq!(h, Hits::default());
    }

    #[test]
    fn huge_offsets_and_limits_allocate_nothing() {
        // An offset of 3×10⁹ used to ask the collector for 48 GB and abort the process.
        let ix = SearchIndex::build(&docs()).expect("index");
        let h = ix
            .search("蜂蜜", &Filters::default(), 3_000_000_000, 20)
            .expect("ok");
        assert!(h.ids.is_empty());
        let h = ix
            .search("蜂蜜", &Filters::default(), MAX_WINDOW - 1, usize::MAX)
            .expect("ok");
        assert!(h.ids.is_empty());
        let h = ix
            .search("蜂蜜", &Filters::default(), 0, usize::MAX)
            .expect("ok");
        assert_eq!(h.ids.len(), 2);
    }
}
