//! A page's query (filters, sort, page) kept in the URL, so a reload or a shared link
//! shows the same view: the query read from the URL, and a callback that replaces it
//! (without a history entry or a scroll).

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

/// `parse` reads the query from the URL's parameters; `to_url` writes it back as a path.
pub fn use_url_query<Q>(
    parse: impl Fn(&dyn Fn(&str) -> Option<String>) -> Q + Send + Sync + 'static,
    to_url: impl Fn(&Q) -> String + Send + Sync + 'static,
) -> (Memo<Q>, Callback<Q>)
where
    Q: Clone + PartialEq + Send + Sync + 'static,
{
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(|p| parse(&|k| p.get(k))));
    let navigate = use_navigate();
    let go = StoredValue::new(move |q: Q| navigate(&to_url(&q), NavigateOptions { replace: true, scroll: false, ..Default::default() }));
    (query, Callback::new(move |q: Q| go.with_value(|go| go(q))))
}
