//! Listing and searching users (`GET /users`): which filters combine, the order, the merge of
//! the shards' pages, and the cursor that carries a listing from one page to the next
//! (ADR 8).
//!
//! Every listing reads one listing index of the users table ([`crate::store::ListIndex`]),
//! whose users are spread over [`LIST_SHARDS`] shards by a hash of their id. A page takes one
//! Query per shard (fewer once shards run out), each from the listing's position on, and a
//! k-way merge of their pages in the listing's order: a user is listed once it is known that
//! no shard holds one before it. Since every shard resumes from the same position, the last
//! user listed, a page ends exactly there and the cursor is one position whatever the number
//! of shards: no user is listed twice, and none that exists from the first page to the last
//! (and keeps matching) is missed, whatever is created or deleted in between.
//!
//! The filters that combine are those one index serves with a key condition: a status and a
//! creation window (by creation), or one prefix of name, email or handle (by that key). Any
//! other combination is refused (400) rather than served by a scan or a filter expression.
//!
//! The cursor is sealed (AES-256-GCM) under a key derived from the User API's own key, with the
//! query (index, partition, range and order) as associated data: a caller cannot read it (it
//! holds a user's sort key, an email for an email listing), forge it, alter it, or use it with
//! another query.

use std::cmp::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use roster_events::{Timestamp, UserId, UserStatus};
use roster_platform::secret_key::{self, SecretKey, SecretKeyError};
use serde::{Deserialize, Serialize};

use crate::domain::{InputError, parse_status};
use crate::error::UserError;
use crate::profiles::Profiles;
use crate::store::{LIST_SHARDS, ListIndex, Listed, ShardPage, ShardQueries, SortRange};

/// A page holds at most this many users when the caller names no limit.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest page a caller may ask for.
pub const MAX_LIMIT: usize = 100;

const _: () = assert!(
    LIST_SHARDS <= 64,
    "a cursor marks finished shards in 64 bits"
);

/// What a listing asks for: the filters and the order. The limit and the cursor are not part
/// of it: a caller may change the page size from page to page, not the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: Filter,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// By creation (`createdAt`, then id): optionally one status, optionally a window. The
    /// window's ends are exclusive and compared to the millisecond.
    Created {
        status: Option<UserStatus>,
        after: Option<DateTime<Utc>>,
        before: Option<DateTime<Utc>>,
    },
    /// Users whose key starts with `prefix` (the key's normal form: lowercase, an email
    /// NFKC-normalised, a handle with its `@`), by that key.
    Prefix { field: PrefixField, prefix: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixField {
    Name,
    Email,
    Handle,
}

/// A `GET /users` request: the query, the page size and where to go on from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    pub query: ListQuery,
    pub limit: usize,
    pub cursor: Option<String>,
}

impl ListRequest {
    /// The request of a query string's parameters (decoded, in order). Unknown and repeated
    /// parameters are refused: a misspelt filter must not list everyone.
    pub fn parse(params: &[(String, String)]) -> Result<Self, InputError> {
        const NAMES: [&str; 9] = [
            "status",
            "createdAfter",
            "createdBefore",
            "namePrefix",
            "emailPrefix",
            "handlePrefix",
            "order",
            "limit",
            "cursor",
        ];
        let mut given: [Option<&str>; 9] = [None; 9];
        for (name, value) in params {
            let Some(slot) = NAMES.iter().position(|known| known == name) else {
                return Err(InputError::ListParameter(name.chars().take(32).collect()));
            };
            if given[slot].replace(value).is_some() {
                return Err(InputError::ListParameterTwice(NAMES[slot].to_owned()));
            }
        }
        let [
            status,
            after,
            before,
            name,
            email,
            handle,
            order,
            limit,
            cursor,
        ] = given;
        let descending = match order {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(InputError::ListOrder),
        };
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                .ok_or(InputError::ListLimit)?,
        };
        let prefixes = [
            name.map(|raw| (PrefixField::Name, raw)),
            email.map(|raw| (PrefixField::Email, raw)),
            handle.map(|raw| (PrefixField::Handle, raw)),
        ];
        let mut prefixes = prefixes.into_iter().flatten();
        let filter = match prefixes.next() {
            Some((field, raw)) => {
                if prefixes.next().is_some()
                    || status.is_some()
                    || after.is_some()
                    || before.is_some()
                {
                    return Err(InputError::ListCombination);
                }
                Filter::Prefix {
                    field,
                    prefix: field.normal_prefix(raw)?,
                }
            }
            None => {
                let after = after.map(|raw| instant("createdAfter", raw)).transpose()?;
                let before = before
                    .map(|raw| instant("createdBefore", raw))
                    .transpose()?;
                if let (Some(after), Some(before)) = (after, before)
                    && sort_time(after) >= sort_time(before)
                {
                    return Err(InputError::ListWindow);
                }
                Filter::Created {
                    status: status.map(parse_status).transpose()?,
                    after,
                    before,
                }
            }
        };
        Ok(Self {
            query: ListQuery { filter, descending },
            limit,
            cursor: cursor.map(str::to_owned),
        })
    }
}

fn instant(name: &'static str, raw: &str) -> Result<DateTime<Utc>, InputError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| InputError::ListTime(name))
}

/// An instant as the created-order indexes write it ([`crate::store::created_sort_time`]).
fn sort_time(at: DateTime<Utc>) -> String {
    crate::store::created_sort_time(&Timestamp::from_datetime(at))
}

impl PrefixField {
    /// The prefix in the form the index's key has, checked as the key's own rule would.
    fn normal_prefix(self, raw: &str) -> Result<String, InputError> {
        match self {
            Self::Name => {
                let prefix = raw.trim();
                let valid = (1..=64).contains(&prefix.len())
                    && prefix
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
                valid
                    .then(|| prefix.to_ascii_lowercase())
                    .ok_or(InputError::ListPrefix(
                        "namePrefix must be 1 to 64 letters, digits, '_', '.' or '-'",
                    ))
            }
            Self::Email => {
                let prefix = roster_events::email::normalise(raw);
                let valid = (1..=254).contains(&prefix.chars().count())
                    && !prefix.chars().any(|c| c.is_whitespace() || c.is_control());
                valid.then_some(prefix).ok_or(InputError::ListPrefix(
                    "emailPrefix must be 1 to 254 characters without spaces or control characters",
                ))
            }
            Self::Handle => {
                let bare = raw.trim();
                let bare = bare.strip_prefix('@').unwrap_or(bare);
                let valid = (1..=64).contains(&bare.len())
                    && bare.bytes().all(|b| b.is_ascii_alphanumeric());
                valid
                    .then(|| format!("@{}", bare.to_ascii_lowercase()))
                    .ok_or(InputError::ListPrefix(
                        "handlePrefix must be an optional '@' and 1 to 64 letters or digits",
                    ))
            }
        }
    }
}

impl ListQuery {
    /// The index the query reads.
    pub fn index(&self) -> ListIndex {
        match &self.filter {
            Filter::Created { status: None, .. } => ListIndex::Created,
            Filter::Created {
                status: Some(status),
                ..
            } => ListIndex::Status(*status),
            Filter::Prefix { field, .. } => match field {
                PrefixField::Name => ListIndex::Name,
                PrefixField::Email => ListIndex::Email,
                PrefixField::Handle => ListIndex::Handle,
            },
        }
    }

    /// The condition on the index's sort key. A created-order key is `<time>#<id>`, and `#`
    /// sorts below every character of an id: `<t>#` is below every key at `t`, `<t>$` above.
    pub fn range(&self) -> SortRange {
        match &self.filter {
            Filter::Created { after, before, .. } => {
                let low = after.map(|at| format!("{}$", sort_time(at)));
                let high = before.map(|at| format!("{}#", sort_time(at)));
                match (low, high) {
                    (None, None) => SortRange::All,
                    (Some(low), None) => SortRange::From(low),
                    (None, Some(high)) => SortRange::To(high),
                    (Some(low), Some(high)) => SortRange::Between(low, high),
                }
            }
            Filter::Prefix { prefix, .. } => SortRange::Prefix(prefix.clone()),
        }
    }

    /// What a cursor is bound to: everything that decides which users the listing holds and
    /// in which order, in one canonical text (equal queries, however written, agree).
    pub fn fingerprint(&self) -> String {
        let index = self.index();
        let partition = match index {
            ListIndex::Status(status) => status.as_str(),
            _ => "",
        };
        let range = match self.range() {
            SortRange::All => "all".to_owned(),
            SortRange::From(low) => format!("from {low:?}"),
            SortRange::To(high) => format!("to {high:?}"),
            SortRange::Between(low, high) => format!("between {low:?} {high:?}"),
            SortRange::Prefix(prefix) => format!("prefix {prefix:?}"),
        };
        let order = if self.descending { "desc" } else { "asc" };
        format!(
            "index {}\npartition {partition}\nrange {range}\norder {order}",
            index.spec().name
        )
    }
}

/// Where a listing goes on: after the last user listed (its sort key and id), and which
/// shards have nothing left after it (one bit each), which later pages do not ask again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    #[serde(rename = "s")]
    pub sort: String,
    #[serde(rename = "i")]
    pub id: UserId,
    #[serde(rename = "d", default)]
    pub finished: u64,
}

/// The items of one page, merged, and where the next one starts (`None`: the listing is
/// complete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub items: Vec<Listed>,
    pub next: Option<Position>,
}

/// How many items a page asks of each shard: about twice a shard's share of the page, and
/// some slack, so that a page is seldom short of `limit` while the reads stay near the page.
/// Never more than `limit`: no page could use more of one shard.
pub fn per_shard_limit(limit: usize) -> usize {
    let shards = LIST_SHARDS as usize;
    limit.min(2 * limit.div_ceil(shards) + 8)
}

fn listing_order(a: &Listed, b: &Listed, descending: bool) -> Ordering {
    let order = (a.sort.as_str(), a.id.as_str()).cmp(&(b.sort.as_str(), b.id.as_str()));
    if descending { order.reverse() } else { order }
}

/// The k-way merge of the shards' pages (each in the listing's order, each from the same
/// position on): at most `limit` items in the listing's order, all of them known to come
/// before anything a shard has not returned yet. A shard that may hold more bounds the page
/// at its last item; a shard that returned everything does not. `finished` carries the
/// shards earlier pages found finished.
pub fn merge(pages: Vec<ShardPage>, limit: usize, descending: bool, finished: u64) -> Merged {
    // A shard page with no items has nothing more (without a filter expression, a Query
    // returns at least one item while any matches).
    let bound: Option<Listed> = pages
        .iter()
        .filter(|page| page.more)
        .filter_map(|page| page.items.last())
        .min_by(|a, b| listing_order(a, b, descending))
        .cloned();
    let mut candidates: Vec<(u32, Listed)> = pages
        .iter()
        .flat_map(|page| {
            page.items
                .iter()
                .map(move |item| (page.shard, item.clone()))
        })
        .filter(|(_, item)| {
            bound
                .as_ref()
                .is_none_or(|bound| listing_order(item, bound, descending) != Ordering::Greater)
        })
        .collect();
    candidates.sort_by(|(_, a), (_, b)| listing_order(a, b, descending));
    let complete_page = candidates.len() <= limit;
    candidates.truncate(limit);
    let Some((_, last)) = candidates.last().cloned() else {
        return Merged {
            items: Vec::new(),
            next: None,
        };
    };
    let mut finished = finished;
    for page in &pages {
        let emptied = page
            .items
            .last()
            .is_none_or(|item| listing_order(item, &last, descending) != Ordering::Greater);
        if (!page.more || page.items.is_empty()) && emptied {
            finished |= 1 << page.shard;
        }
    }
    // Complete when no shard may hold more and the page took every item the shards returned.
    let done = bound.is_none() && complete_page;
    Merged {
        items: candidates.into_iter().map(|(_, item)| item).collect(),
        next: (!done).then(|| Position {
            sort: last.sort.clone(),
            id: last.id.clone(),
            finished,
        }),
    }
}

/// What a cursor text starts with: the format's version.
const CURSOR_PREFIX: &str = "c1.";
/// The longest cursor accepted: a position holds at most a 254-character email and an id.
pub const MAX_CURSOR_CHARS: usize = 2048;
const CURSOR_KEY_PURPOSE: &[u8] = b"roster-user-list-cursor-key-v1";
const CURSOR_CONTEXT: &str = "roster-user-list-cursor-v1\n";

fn cursor_context(query: &ListQuery) -> Vec<u8> {
    format!("{CURSOR_CONTEXT}{}", query.fingerprint()).into_bytes()
}

/// `position` as a cursor of `query`, sealed under `key`.
pub fn seal_cursor(
    key: &[u8; 32],
    query: &ListQuery,
    position: &Position,
) -> Result<String, SecretKeyError> {
    let plain = serde_json::to_vec(position).expect("a position serialises");
    let sealed = secret_key::seal(key, &cursor_context(query), &plain)?;
    Ok(format!("{CURSOR_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)))
}

/// The position in a cursor of `query` sealed under `key`; `None` for anything else (another
/// query's cursor, a changed, truncated or invented one).
pub fn open_cursor(key: &[u8; 32], query: &ListQuery, text: &str) -> Option<Position> {
    if text.len() > MAX_CURSOR_CHARS {
        return None;
    }
    let sealed = URL_SAFE_NO_PAD
        .decode(text.strip_prefix(CURSOR_PREFIX)?)
        .ok()?;
    let plain = secret_key::open(key, &cursor_context(query), &sealed)?;
    serde_json::from_slice(&plain).ok()
}

/// Seals and opens the cursors of `GET /users` under the User API's own key.
pub struct ListCursors {
    key: SecretKey,
}

impl ListCursors {
    pub fn new(key: SecretKey) -> Self {
        Self { key }
    }

    async fn key(&self) -> Result<[u8; 32], UserError> {
        self.key
            .derive(CURSOR_KEY_PURPOSE)
            .await
            .map_err(|error| UserError::KeyUnavailable(error.to_string()))
    }

    /// Reads the key now (see [`SecretKey::load`]).
    pub async fn load(&self) -> Result<(), roster_platform::secret_key::SecretKeyError> {
        self.key.load().await
    }

    pub async fn seal(&self, query: &ListQuery, position: &Position) -> Result<String, UserError> {
        seal_cursor(&self.key().await?, query, position)
            .map_err(|error| UserError::KeyUnavailable(error.to_string()))
    }

    /// The position of a cursor this API sealed for `query`; 400 for any other text.
    pub async fn open(&self, query: &ListQuery, text: &str) -> Result<Position, UserError> {
        open_cursor(&self.key().await?, query, text).ok_or(UserError::InvalidCursor)
    }
}

impl Profiles {
    /// One page of a listing: at most `limit` users after `after` (from the start when none),
    /// and where the next page starts. One Query per shard that is not finished.
    pub async fn list(
        &self,
        query: &ListQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Merged, UserError> {
        let finished = after.map_or(0, |position| position.finished);
        let shards: Vec<u32> = (0..LIST_SHARDS)
            .filter(|shard| finished & (1 << shard) == 0)
            .collect();
        let range = query.range();
        let pages = self
            .table
            .list_shards(&ShardQueries {
                index: query.index(),
                range: &range,
                descending: query.descending,
                after: after.map(|position| position.sort.as_str()),
                shards: &shards,
                limit: i32::try_from(per_shard_limit(limit)).unwrap_or(i32::MAX),
            })
            .await?;
        Ok(merge(pages, limit, query.descending, finished))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use roster_events::Email;

    use super::*;
    use crate::store::{KeyCondition, key_condition};

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    fn request(pairs: &[(&str, &str)]) -> Result<ListRequest, InputError> {
        ListRequest::parse(&params(pairs))
    }

    #[test]
    fn filters_that_one_index_serves_combine_and_the_others_are_refused() {
        let all = request(&[]).unwrap();
        assert_eq!(all.query.index(), ListIndex::Created);
        assert_eq!(all.query.range(), SortRange::All);
        assert_eq!(all.limit, DEFAULT_LIMIT);

        let window = request(&[
            ("status", "SUSPENDED"),
            ("createdAfter", "2026-11-25T10:00:00Z"),
            ("createdBefore", "2026-11-25T12:00:00+01:00"),
            ("order", "desc"),
            ("limit", "100"),
        ])
        .unwrap();
        assert_eq!(
            window.query.index(),
            ListIndex::Status(UserStatus::Suspended)
        );
        assert_eq!(
            window.query.range(),
            SortRange::Between(
                "2026-11-25T10:00:00.000Z$".to_owned(),
                "2026-11-25T11:00:00.000Z#".to_owned()
            )
        );
        assert!(window.query.descending);

        let email = request(&[("emailPrefix", " ＡDA@Ex ")]).unwrap();
        assert_eq!(email.query.index(), ListIndex::Email);
        assert_eq!(email.query.range(), SortRange::Prefix("ada@ex".to_owned()));
        let handle = request(&[("handlePrefix", "@Cort")]).unwrap();
        assert_eq!(handle.query.range(), SortRange::Prefix("@cort".to_owned()));
        let name = request(&[("namePrefix", "Ada_L")]).unwrap();
        assert_eq!(name.query.range(), SortRange::Prefix("ada_l".to_owned()));

        for refused in [
            &[("namePrefix", "a"), ("status", "CONFIRMED")][..],
            &[("namePrefix", "a"), ("emailPrefix", "a")],
            &[
                ("handlePrefix", "a"),
                ("createdAfter", "2026-11-25T10:00:00Z"),
            ],
            &[
                ("emailPrefix", "a"),
                ("createdBefore", "2026-11-25T10:00:00Z"),
            ],
        ] {
            assert_eq!(
                request(refused),
                Err(InputError::ListCombination),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn bad_parameters_are_refused_each_with_its_reason() {
        use InputError as E;
        let cases: [(&[(&str, &str)], InputError); 16] = [
            (&[("limit", "0")], E::ListLimit),
            (&[("limit", "101")], E::ListLimit),
            (&[("limit", "ten")], E::ListLimit),
            (&[("limit", "-1")], E::ListLimit),
            (&[("limit", "")], E::ListLimit),
            (&[("order", "up")], E::ListOrder),
            (
                &[("status", "confirmed")],
                E::Status("confirmed".to_owned()),
            ),
            (
                &[("createdAfter", "yesterday")],
                E::ListTime("createdAfter"),
            ),
            (
                &[("createdBefore", "2026-11-25")],
                E::ListTime("createdBefore"),
            ),
            (
                &[
                    ("createdAfter", "2026-11-25T10:00:00Z"),
                    ("createdBefore", "2026-11-25T10:00:00.000+00:00"),
                ],
                E::ListWindow,
            ),
            (
                &[("stauts", "CONFIRMED")],
                E::ListParameter("stauts".to_owned()),
            ),
            (
                &[("limit", "5"), ("limit", "6")],
                E::ListParameterTwice("limit".to_owned()),
            ),
            (
                &[("namePrefix", "")],
                E::ListPrefix("namePrefix must be 1 to 64 letters, digits, '_', '.' or '-'"),
            ),
            (
                &[("namePrefix", "two words")],
                E::ListPrefix("namePrefix must be 1 to 64 letters, digits, '_', '.' or '-'"),
            ),
            (
                &[("handlePrefix", "@")],
                E::ListPrefix("handlePrefix must be an optional '@' and 1 to 64 letters or digits"),
            ),
            (
                &[("emailPrefix", "a b")],
                E::ListPrefix(
                    "emailPrefix must be 1 to 254 characters without spaces or control characters",
                ),
            ),
        ];
        for (pairs, error) in cases {
            assert_eq!(request(pairs), Err(error), "{pairs:?}");
        }
    }

    #[test]
    fn equal_queries_share_a_fingerprint_and_different_ones_do_not() {
        let fingerprint = |pairs: &[(&str, &str)]| request(pairs).unwrap().query.fingerprint();
        assert_eq!(
            fingerprint(&[("createdAfter", "2026-11-25T10:00:00Z"), ("limit", "5")]),
            fingerprint(&[("createdAfter", "2026-11-25T11:00:00.000+01:00")]),
        );
        assert_eq!(
            fingerprint(&[("namePrefix", "ADA")]),
            fingerprint(&[("namePrefix", "ada")]),
        );
        let distinct = [
            fingerprint(&[]),
            fingerprint(&[("order", "desc")]),
            fingerprint(&[("status", "CONFIRMED")]),
            fingerprint(&[("status", "SUSPENDED")]),
            fingerprint(&[("createdAfter", "2026-11-25T10:00:00Z")]),
            fingerprint(&[("createdBefore", "2026-11-25T10:00:00Z")]),
            fingerprint(&[("namePrefix", "ada")]),
            fingerprint(&[("namePrefix", "ad")]),
            fingerprint(&[("handlePrefix", "ada")]),
            fingerprint(&[("emailPrefix", "ada")]),
        ];
        let unique: std::collections::BTreeSet<&String> = distinct.iter().collect();
        assert_eq!(unique.len(), distinct.len());
    }

    fn listed(sort: &str, id: &str) -> Listed {
        Listed {
            id: UserId::parse(id).unwrap(),
            name: format!("user_{id}"),
            handle: format!("@user{id}"),
            email: Email::parse(&format!("user{id}@example.com")).unwrap(),
            status: UserStatus::Confirmed,
            created_at: Timestamp::now(),
            sort: sort.to_owned(),
        }
    }

    /// Users spread over shards by a stand-in hash, each shard sorted: what the indexes hold.
    fn shards_of(keys: &[(String, String)]) -> BTreeMap<u32, Vec<Listed>> {
        let mut shards: BTreeMap<u32, Vec<Listed>> = BTreeMap::new();
        for (sort, id) in keys {
            let shard = id.bytes().map(u32::from).sum::<u32>() % LIST_SHARDS;
            shards.entry(shard).or_default().push(listed(sort, id));
        }
        shards
    }

    /// What one shard's Query would return from `after` on: at most `limit` items, and
    /// whether it stopped at the limit.
    fn query(
        shard: &[Listed],
        after: Option<&Position>,
        limit: usize,
        descending: bool,
    ) -> (Vec<Listed>, bool) {
        let mut items: Vec<Listed> = shard.to_vec();
        items.sort_by(|a, b| listing_order(a, b, descending));
        let items: Vec<Listed> = items
            .into_iter()
            .filter(|item| {
                after.is_none_or(|position| {
                    let at = listed(&position.sort, position.id.as_str());
                    listing_order(item, &at, descending) == Ordering::Greater
                })
            })
            .collect();
        let more = items.len() > limit;
        (items.into_iter().take(limit).collect(), more)
    }

    /// Pages through `keys` as `Profiles::list` does; returns every page.
    fn page_through(
        keys: &[(String, String)],
        limit: usize,
        descending: bool,
    ) -> (Vec<Vec<Listed>>, usize) {
        let shards = shards_of(keys);
        let mut pages = Vec::new();
        let mut after: Option<Position> = None;
        let mut queries = 0;
        loop {
            let finished = after.as_ref().map_or(0, |position| position.finished);
            let shard_pages: Vec<ShardPage> = (0..LIST_SHARDS)
                .filter(|shard| finished & (1 << shard) == 0)
                .map(|shard| {
                    queries += 1;
                    let (items, more) = query(
                        shards.get(&shard).map_or(&[][..], Vec::as_slice),
                        after.as_ref(),
                        per_shard_limit(limit),
                        descending,
                    );
                    ShardPage { shard, items, more }
                })
                .collect();
            let merged = merge(shard_pages, limit, descending, finished);
            assert!(merged.items.len() <= limit);
            pages.push(merged.items);
            match merged.next {
                Some(next) => {
                    assert!(!pages.last().unwrap().is_empty(), "a page made no progress");
                    after = Some(next);
                }
                None => return (pages, queries),
            }
        }
    }

    fn keys(count: usize) -> Vec<(String, String)> {
        (0..count)
            .map(|n| {
                // Several users share a creation time: the id orders them.
                (
                    format!("2026-11-25T10:00:{:02}.000Z#", (n * 7) % 60),
                    format!("5a0c0a8e-0000-4000-8000-{n:012}"),
                )
            })
            .map(|(time, id)| (format!("{time}{id}"), id))
            .collect()
    }

    #[test]
    fn paging_lists_every_user_once_in_order_whatever_the_page_size() {
        for count in [0, 1, 5, 31, 32, 33, 250] {
            let keys = keys(count);
            for descending in [false, true] {
                let mut expected: Vec<(String, String)> = keys.clone();
                expected.sort();
                if descending {
                    expected.reverse();
                }
                for limit in [1, 2, 7, 50, 100] {
                    let (pages, _) = page_through(&keys, limit, descending);
                    let listed: Vec<(String, String)> = pages
                        .iter()
                        .flatten()
                        .map(|item| (item.sort.clone(), item.id.to_string()))
                        .collect();
                    assert_eq!(listed, expected, "{count} users, limit {limit}");
                }
            }
        }
    }

    #[test]
    fn a_page_is_full_when_the_limit_fits_one_shards_read_and_seldom_short_otherwise() {
        let keys = keys(1000);
        let (pages, _) = page_through(&keys, 10, false);
        assert!(pages[..pages.len() - 1].iter().all(|page| page.len() == 10));
        let (pages, queries) = page_through(&keys, 100, false);
        let full: usize = pages.iter().map(Vec::len).sum();
        assert_eq!(full, 1000);
        // Short pages happen, but the listing takes not many more pages than 1000 / 100.
        assert!(pages.len() <= 14, "{} pages", pages.len());
        assert!(queries <= pages.len() * LIST_SHARDS as usize);
    }

    #[test]
    fn finished_shards_are_not_asked_again() {
        // Few users: most shards are empty from the first page on.
        let keys = keys(6);
        let (pages, queries) = page_through(&keys, 2, false);
        assert_eq!(pages.len(), 3);
        assert!(
            queries < 3 * LIST_SHARDS as usize,
            "{queries} queries for 3 pages"
        );
    }

    #[test]
    fn a_shard_that_may_hold_more_bounds_the_page() {
        let early = ShardPage {
            shard: 0,
            items: vec![listed("a", "1"), listed("c", "3")],
            more: true,
        };
        let late = ShardPage {
            shard: 1,
            items: vec![listed("b", "2"), listed("d", "4"), listed("e", "5")],
            more: false,
        };
        let merged = merge(vec![early, late], 10, false, 0);
        let sorts: Vec<&str> = merged.items.iter().map(|item| item.sort.as_str()).collect();
        // "d" and "e" wait: shard 0 may hold something between "c" and them.
        assert_eq!(sorts, ["a", "b", "c"]);
        let next = merged.next.unwrap();
        assert_eq!((next.sort.as_str(), next.id.as_str()), ("c", "3"));
        assert_eq!(next.finished, 0);
    }

    fn query_of(pairs: &[(&str, &str)]) -> ListQuery {
        request(pairs).unwrap().query
    }

    #[test]
    fn a_cursor_opens_for_its_own_query_and_key_only() {
        let key = [9u8; 32];
        let query = query_of(&[("emailPrefix", "ada")]);
        let position = Position {
            sort: "ada.lovelace@example.com".to_owned(),
            id: UserId::parse("5a0c0a8e-0000-4000-8000-000000000001").unwrap(),
            finished: 0b1011,
        };
        let cursor = seal_cursor(&key, &query, &position).unwrap();
        assert!(cursor.starts_with("c1."));
        assert_eq!(open_cursor(&key, &query, &cursor), Some(position.clone()));
        // The same query written otherwise, and with another limit, is the same query.
        assert_eq!(
            open_cursor(
                &key,
                &query_of(&[("emailPrefix", "ADA"), ("limit", "3")]),
                &cursor
            ),
            Some(position.clone())
        );
        // Unreadable: the email does not show through.
        assert!(!cursor.contains("lovelace"));
        let decoded = URL_SAFE_NO_PAD.decode(&cursor[3..]).unwrap();
        assert!(!String::from_utf8_lossy(&decoded).contains("lovelace"));

        for other in [
            &[("emailPrefix", "ad")][..],
            &[("emailPrefix", "ada"), ("order", "desc")],
            &[("namePrefix", "ada")],
            &[],
        ] {
            assert_eq!(
                open_cursor(&key, &query_of(other), &cursor),
                None,
                "{other:?}"
            );
        }
        assert_eq!(open_cursor(&[8u8; 32], &query, &cursor), None);
        let mut bytes = cursor.clone().into_bytes();
        for index in 3..bytes.len() {
            let original = bytes[index];
            bytes[index] = if original == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes.clone()).unwrap();
            assert_eq!(open_cursor(&key, &query, &tampered), None, "char {index}");
            bytes[index] = original;
        }
        for invented in [
            "",
            "c1.",
            "c1.AAAA",
            "c2.AAAA",
            &cursor[3..],
            &cursor[..cursor.len() - 2],
            &format!("{cursor}AA"),
            &"c1.".repeat(1000),
        ] {
            assert_eq!(open_cursor(&key, &query, invented), None, "{invented:?}");
        }
    }

    /// What a Query with `condition` returns of `keys`, in the listing's order (the index's
    /// byte order of UTF-8, as Rust's `str` compares).
    fn read(keys: &[&str], condition: &KeyCondition, descending: bool) -> Vec<String> {
        let mut found: Vec<String> = keys
            .iter()
            .filter(|key| match condition {
                KeyCondition::Any => true,
                KeyCondition::Above(low) => **key > low.as_str(),
                KeyCondition::Below(high) => **key < high.as_str(),
                KeyCondition::AtLeast(low) => **key >= low.as_str(),
                KeyCondition::AtMost(high) => **key <= high.as_str(),
                KeyCondition::Between(low, high) => {
                    assert!(low <= high, "DynamoDB refuses BETWEEN {low:?} AND {high:?}");
                    (low.as_str()..=high.as_str()).contains(*key)
                }
                KeyCondition::BeginsWith(prefix) => key.starts_with(prefix.as_str()),
            })
            .map(|key| (*key).to_owned())
            .collect();
        found.sort();
        if descending {
            found.reverse();
        }
        found
    }

    #[test]
    fn each_key_condition_resumes_just_after_the_position_in_every_range_and_order() {
        let keys = [
            "ab",
            "ab~",
            "abc",
            "abc\u{e9}",
            "abd",
            "ac",
            "b",
            "b\u{10FFFF}",
            "ba",
        ];
        let ranges = [
            SortRange::All,
            SortRange::From("abc".to_owned()),
            SortRange::To("b".to_owned()),
            SortRange::Between("ab~".to_owned(), "ba".to_owned()),
            SortRange::Prefix("ab".to_owned()),
            SortRange::Prefix("abc".to_owned()),
            SortRange::Prefix("b".to_owned()),
        ];
        for range in &ranges {
            for descending in [false, true] {
                let (first, skip) = key_condition(range, None, descending);
                assert_eq!(skip, None);
                let whole = read(&keys, &first, descending);
                assert!(!whole.is_empty(), "{range:?}");
                // From every position the listing reaches: exactly the rest of it.
                for (index, position) in whole.iter().enumerate() {
                    let (condition, skip) = key_condition(range, Some(position), descending);
                    let rest: Vec<String> = read(&keys, &condition, descending)
                        .into_iter()
                        .filter(|key| skip.as_deref() != Some(key.as_str()))
                        .collect();
                    assert_eq!(
                        rest,
                        whole[index + 1..],
                        "{range:?} from {position:?}, descending {descending}"
                    );
                }
            }
        }
    }

    #[test]
    fn per_shard_reads_stay_near_the_page() {
        assert_eq!(per_shard_limit(1), 1);
        assert_eq!(per_shard_limit(10), 10);
        assert_eq!(per_shard_limit(50), 12);
        assert_eq!(per_shard_limit(100), 16);
        for limit in 1..=MAX_LIMIT {
            assert!((1..=limit).contains(&per_shard_limit(limit)));
        }
    }
}
