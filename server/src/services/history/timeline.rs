//! A customer's timeline: the newest page of each source, merged by time.

use crate::db::history::timeline as store;
use crate::db::Db;
use app::types::history::{Timeline, TimelineItem, TIMELINE_PER_PAGE};

/// One page of the customer's timeline, newest first, before `before` (ms) if given.
pub async fn page(db: &Db, partner_id: i64, customer_id: i64, customer_name: String, before: Option<i64>) -> Result<Timeline, sqlx::Error> {
    let before_ms = before.unwrap_or(i64::MAX);
    // One more than a page from each source: whatever the mix, the merged page is right.
    let n = TIMELINE_PER_PAGE as i64 + 1;
    let mut items: Vec<TimelineItem> = Vec::new();
    items.extend(store::runs(db, partner_id, customer_id, before_ms, n).await?.into_iter().map(|(run, lines)| TimelineItem::Run { run, lines }));
    items.extend(store::changes(db, partner_id, customer_id, before_ms, n).await?.into_iter().map(TimelineItem::Change));
    items.extend(store::tickets(db, partner_id, customer_id, before_ms, n).await?.into_iter().map(TimelineItem::Ticket));
    items.extend(store::billed(db, partner_id, customer_id, before_ms, n).await?.into_iter().map(TimelineItem::Billed));
    items.sort_by_key(|i| std::cmp::Reverse(i.at()));
    let older = if items.len() > TIMELINE_PER_PAGE {
        items.truncate(TIMELINE_PER_PAGE);
        // Items sharing the oldest time shown may go on beyond this page: leave them all
        // to the next page, which reads from that time on (unless they fill this page).
        let last = items.last().map(TimelineItem::at);
        if items.iter().any(|i| Some(i.at()) != last) {
            items.retain(|i| Some(i.at()) != last);
            last.map(|t| t + 1)
        } else {
            last
        }
    } else {
        None
    };
    Ok(Timeline { customer_id, customer_name, items, older })
}
