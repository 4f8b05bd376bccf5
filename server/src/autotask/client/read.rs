//! Reading: typed and raw queries paged by id-walk, counts, one record by id, the
//! parallel id-range reader for large sets, and entity metadata (fields, picklists).

use super::{AutotaskClient, FetchProgress, Page};
use crate::autotask::entities::{Entity, FieldInfo, PicklistValue};
use crate::autotask::error::AutotaskError;
use crate::autotask::query::{Filter, Query, MAX_RECORDS};
use reqwest::Method;
use serde_json::Value;
use std::sync::atomic::Ordering;

fn id_of(item: &Value) -> Option<i64> {
    item.get("id").and_then(Value::as_i64)
}

/// What a query page can be decoded into: raw JSON or a typed entity. Pages are decoded
/// straight into it (no intermediate `Value` for typed reads).
pub trait Row: serde::de::DeserializeOwned + Send + 'static {
    /// The record's id, for id-walk paging.
    fn row_id(&self) -> Option<i64>;
}

impl Row for Value {
    fn row_id(&self) -> Option<i64> {
        id_of(self)
    }
}

impl<T: Entity> Row for T {
    fn row_id(&self) -> Option<i64> {
        Some(self.id())
    }
}

/// Receives the pages of a streamed read.
pub type PageSink<'a, T> = dyn Fn(Vec<T>) + Send + Sync + 'a;

#[derive(serde::Deserialize)]
struct PageOf<T> {
    items: Vec<T>,
}

impl AutotaskClient {
    async fn page_of<T: Row>(&self, entity: &str, query: &Query) -> Result<Vec<T>, AutotaskError> {
        let text = self.call_text(Method::POST, entity, &format!("{entity}/query"), Some(&query.to_json()), true).await?;
        serde_json::from_str::<PageOf<T>>(&text).map(|p| p.items).map_err(|e| AutotaskError::Malformed(format!("{entity} query answer: {e}")))
    }

    /// One page of a query (POST).
    pub async fn query_page(&self, entity: &str, query: &Query) -> Result<Page, AutotaskError> {
        Ok(Page { items: self.page_of::<Value>(entity, query).await? })
    }

    /// Every matching record, by id-walk: each next page asks for ids above the last seen.
    async fn all_of<T: Row>(&self, entity: &str, query: &Query) -> Result<Vec<T>, AutotaskError> {
        self.all_of_counted(entity, query, None, None).await
    }

    /// The id-walk; with `sink`, each page is handed on as it arrives instead of collected.
    async fn all_of_counted<T: Row>(
        &self,
        entity: &str,
        query: &Query,
        progress: Option<&FetchProgress>,
        sink: Option<&PageSink<'_, T>>,
    ) -> Result<Vec<T>, AutotaskError> {
        let mut out = Vec::new();
        let mut after: Option<i64> = None;
        loop {
            let q = match after {
                Some(id) => query.clone().and(Filter::gt("id", id)),
                None => query.clone(),
            };
            let page = self.page_of::<T>(entity, &q).await?;
            let n = page.len();
            FetchProgress::add(progress, n);
            after = page.last().and_then(Row::row_id);
            match sink {
                Some(sink) => sink(page),
                None => out.extend(page),
            }
            if n < query.max_records || after.is_none() {
                return Ok(out);
            }
        }
    }

    /// Every matching record as raw JSON, by id-walk.
    pub async fn query_all_raw(&self, entity: &str, query: &Query) -> Result<Vec<Value>, AutotaskError> {
        self.all_of(entity, query).await
    }

    /// Every matching record, typed.
    pub async fn query<T: Entity>(&self, query: &Query) -> Result<Vec<T>, AutotaskError> {
        self.all_of(T::NAME, query).await
    }

    /// `query/count`.
    pub async fn count(&self, entity: &str, query: &Query) -> Result<i64, AutotaskError> {
        let v = self.call(Method::POST, entity, &format!("{entity}/query/count"), Some(&query.to_json()), true).await?;
        v.get("queryCount").and_then(Value::as_i64).ok_or_else(|| AutotaskError::Malformed(format!("{entity} count answer without queryCount")))
    }

    /// Every matching record, fetched in parallel id ranges within the thread limit.
    ///
    /// The first page and the count come together; the id density of the first page
    /// estimates where the rest lie, which is split into as many ranges as there are
    /// thread slots (the last one open-ended, so no record is missed if ids are uneven).
    async fn fetch_all_of<T: Row>(
        &self,
        entity: &str,
        filters: Vec<Filter>,
        progress: Option<&FetchProgress>,
        sink: Option<&PageSink<'_, T>>,
    ) -> Result<Vec<T>, AutotaskError> {
        let base = Query::new(filters);
        let count = async {
            let count = self.count(entity, &base).await;
            if let (Some(p), Ok(n)) = (progress, &count) {
                p.expected.store((*n).max(0) as u64, Ordering::Relaxed);
            }
            count
        };
        let (count, first) = tokio::join!(count, self.page_of::<T>(entity, &base));
        let first = first?;
        FetchProgress::add(progress, first.len());
        let (full, first_id, last_id) = (first.len() >= MAX_RECORDS, first.first().and_then(Row::row_id), first.last().and_then(Row::row_id));
        let first = match sink {
            Some(sink) => {
                sink(first);
                Vec::new()
            }
            None => first,
        };
        let (true, Some(first_id), Some(last_id)) = (full, first_id, last_id) else {
            return Ok(first);
        };
        let first_len = MAX_RECORDS as i64;
        let remaining = match count {
            Ok(total) => (total - first_len).max(0),
            Err(_) => {
                let rest = self.all_of_counted::<T>(entity, &base.clone().and(Filter::gt("id", last_id)), progress, sink).await?;
                return Ok(first.into_iter().chain(rest).collect());
            }
        };
        let density = (first_len as f64 - 1.0) / ((last_id - first_id).max(1) as f64);
        let parts = self.opts.max_threads_per_entity.max(1) as i64;
        let span = (remaining as f64 / density.max(1e-9)).ceil() as i64;
        let step = (span / parts).max(1);
        let mut ranges = Vec::new();
        let mut lo = last_id + 1;
        for i in 0..parts {
            let hi = if i == parts - 1 { None } else { Some(lo + step) };
            ranges.push((lo, hi));
            if let Some(h) = hi {
                lo = h;
            }
        }
        let tasks = ranges.into_iter().map(|(lo, hi)| {
            let mut q = base.clone().and(Filter::gte("id", lo));
            if let Some(hi) = hi {
                q = q.and(Filter::lt("id", hi));
            }
            async move { self.all_of_counted::<T>(entity, &q, progress, sink).await }
        });
        let parts = futures_util::future::join_all(tasks).await;
        let mut out = first;
        for part in parts {
            out.extend(part?);
        }
        Ok(out)
    }

    /// Every matching record as raw JSON, fetched in parallel id ranges.
    pub async fn fetch_all_raw(&self, entity: &str, filters: Vec<Filter>) -> Result<Vec<Value>, AutotaskError> {
        self.fetch_all_of(entity, filters, None, None).await
    }

    /// Every matching record, typed, fetched in parallel id ranges.
    pub async fn fetch_all<T: Entity>(&self, filters: Vec<Filter>) -> Result<Vec<T>, AutotaskError> {
        self.fetch_all_of(T::NAME, filters, None, None).await
    }

    /// Like [`Self::fetch_all`], counting into `progress` as pages arrive.
    pub async fn fetch_all_counted<T: Entity>(&self, filters: Vec<Filter>, progress: &FetchProgress) -> Result<Vec<T>, AutotaskError> {
        self.fetch_all_of(T::NAME, filters, Some(progress), None).await
    }

    /// Like [`Self::fetch_all_counted`], handing each page to `sink` as it arrives (in no
    /// particular order), so the caller can store pages while the others are still read.
    pub async fn fetch_all_streamed<T: Entity>(
        &self,
        filters: Vec<Filter>,
        progress: &FetchProgress,
        sink: &PageSink<'_, T>,
    ) -> Result<(), AutotaskError> {
        self.fetch_all_of(T::NAME, filters, Some(progress), Some(sink)).await.map(|_| ())
    }

    /// One record by id (`None` when Autotask answers `{"item": null}` or 404).
    pub async fn get<T: Entity>(&self, id: i64) -> Result<Option<T>, AutotaskError> {
        match self.call(Method::GET, T::NAME, &format!("{}/{id}", T::NAME), None, true).await {
            Ok(v) => match v.get("item") {
                Some(Value::Null) | None => Ok(None),
                Some(item) => serde_json::from_value(item.clone()).map(Some).map_err(|e| AutotaskError::Malformed(format!("{}: {e}", T::NAME))),
            },
            Err(AutotaskError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `entityInformation/fields`.
    pub async fn fields(&self, entity: &str) -> Result<Vec<FieldInfo>, AutotaskError> {
        let v = self.call(Method::GET, entity, &format!("{entity}/entityInformation/fields"), None, true).await?;
        serde_json::from_value(v.get("fields").cloned().unwrap_or(Value::Null)).map_err(|e| AutotaskError::Malformed(format!("{entity} fields: {e}")))
    }

    /// A picklist's values (all of them; callers filter `is_active` for new writes).
    pub async fn picklist(&self, entity: &str, field: &str) -> Result<Vec<PicklistValue>, AutotaskError> {
        let fields = self.fields(entity).await?;
        let f = fields
            .into_iter()
            .find(|f| f.name.eq_ignore_ascii_case(field))
            .ok_or_else(|| AutotaskError::NotFound(format!("field {field} of {entity}")))?;
        let mut values = f.picklist_values.unwrap_or_default();
        values.sort_by_key(|v| v.sort_order);
        Ok(values)
    }
}
