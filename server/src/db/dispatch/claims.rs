//! Who works which part of a partner's dispatch, when several instances share it: the
//! members (instances working or waiting to work the partner), the customers each has
//! claimed for a round, and the slots of Autotask's thread limit each holds. All are
//! short leases that a live instance renews and a dead one's lapse within seconds.

use crate::db::Db;

/// Slots of the partner's thread limit (Autotask allows 3 concurrent calls per entity
/// and integration, shared by every instance).
pub const SLOTS: i64 = 3;

/// The SQL condition that a row (alias `alias`, with `partner_id` and `customer_id`) is
/// free for the holder bound to `$holder_param` at the time bound to `$now_param`: its
/// customer is neither held back nor claimed by another live instance. One definition
/// for every read of the dispatcher's work.
pub fn free_for(alias: &str, now_param: u8, holder_param: u8) -> String {
    format!(
        "{} and not exists (select 1 from dispatch_claim k where k.partner_id = {alias}.partner_id and k.customer_id = {alias}.customer_id \
         and k.holder <> ${holder_param} and k.expires_at > ${now_param})",
        super::not_held(alias, now_param)
    )
}

/// Claims these customers for `holder` until `until`; returns those it now holds (a
/// customer another live instance holds stays theirs).
pub async fn claim(db: &Db, partner_id: i64, holder: &str, customers: &[i64], now: i64, until: i64) -> Result<Vec<i64>, sqlx::Error> {
    let mut won = Vec::with_capacity(customers.len());
    for chunk in customers.chunks(400) {
        // Ids are integers: inlined, with the rest bound.
        let values = chunk.iter().map(|c| format!("($1, {c}, $2, $3)")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "insert into dispatch_claim (partner_id, customer_id, holder, expires_at) values {values} \
             on conflict (partner_id, customer_id) do update set holder = excluded.holder, expires_at = excluded.expires_at \
             where dispatch_claim.holder = excluded.holder or dispatch_claim.expires_at <= $4 returning customer_id"
        );
        let ids: Vec<i64> = sqlx::query_scalar(&sql).bind(partner_id).bind(holder).bind(until).bind(now).fetch_all(&db.pool).await?;
        won.extend(ids);
    }
    Ok(won)
}

/// Gives back the customers `holder` claimed (at the end of its round: their work is written).
pub async fn unclaim(db: &Db, partner_id: i64, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from dispatch_claim where partner_id = $1 and holder = $2").bind(partner_id).bind(holder).execute(&db.pool).await.map(|_| ())
}

/// Says `holder` works or waits to work the partner until `until`, and renews its
/// claims and slots to the same time.
pub async fn renew(db: &Db, partner_id: i64, holder: &str, until: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into dispatch_member (partner_id, holder, expires_at) values ($1, $2, $3) \
         on conflict (partner_id, holder) do update set expires_at = excluded.expires_at",
    )
    .bind(partner_id)
    .bind(holder)
    .bind(until)
    .execute(&db.pool)
    .await?;
    for table in ["dispatch_claim", "dispatch_slot"] {
        sqlx::query(&format!("update {table} set expires_at = $3 where partner_id = $1 and holder = $2"))
            .bind(partner_id)
            .bind(holder)
            .bind(until)
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}

/// The live members of the partner's dispatch, by name (the order that shares out the
/// thread limit's slots).
pub async fn members(db: &Db, partner_id: i64, now: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("select holder from dispatch_member where partner_id = $1 and expires_at > $2 order by holder")
        .bind(partner_id)
        .bind(now)
        .fetch_all(&db.pool)
        .await
}

/// Brings the slots `holder` holds to `target` (giving back its highest, or taking free
/// ones while there are); returns how many it holds now.
pub async fn balance_slots(db: &Db, partner_id: i64, holder: &str, target: i64, now: i64, until: i64) -> Result<i64, sqlx::Error> {
    let mine: Vec<i64> = sqlx::query_scalar("select slot from dispatch_slot where partner_id = $1 and holder = $2 and expires_at > $3 order by slot")
        .bind(partner_id)
        .bind(holder)
        .bind(now)
        .fetch_all(&db.pool)
        .await?;
    let mut held = mine.len() as i64;
    for slot in mine.iter().rev().take((held - target).max(0) as usize) {
        sqlx::query("delete from dispatch_slot where partner_id = $1 and slot = $2 and holder = $3")
            .bind(partner_id)
            .bind(slot)
            .bind(holder)
            .execute(&db.pool)
            .await?;
        held -= 1;
    }
    for slot in (0..SLOTS).filter(|s| !mine.contains(s)) {
        if held >= target {
            break;
        }
        let took = sqlx::query(
            "insert into dispatch_slot (partner_id, slot, holder, expires_at) values ($1, $2, $3, $4) \
             on conflict (partner_id, slot) do update set holder = excluded.holder, expires_at = excluded.expires_at \
             where dispatch_slot.holder = excluded.holder or dispatch_slot.expires_at <= $5",
        )
        .bind(partner_id)
        .bind(slot)
        .bind(holder)
        .bind(until)
        .bind(now)
        .execute(&db.pool)
        .await?;
        held += took.rows_affected() as i64;
    }
    Ok(held)
}

/// `holder` stops working the partner: its claims, slots and membership go at once.
pub async fn leave(db: &Db, partner_id: i64, holder: &str) -> Result<(), sqlx::Error> {
    for table in ["dispatch_claim", "dispatch_slot", "dispatch_member"] {
        sqlx::query(&format!("delete from {table} where partner_id = $1 and holder = $2")).bind(partner_id).bind(holder).execute(&db.pool).await?;
    }
    Ok(())
}

/// Partners where another live instance holds claims: work this instance may share.
pub async fn partners_worked_elsewhere(db: &Db, holder: &str, now: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("select distinct partner_id from dispatch_claim where holder <> $1 and expires_at > $2")
        .bind(holder)
        .bind(now)
        .fetch_all(&db.pool)
        .await
}

/// The share of the thread limit's slots of the member at `rank` among `members`: the
/// slots shared out whole, and never less than one. With more members than slots the
/// shares add up to more than there are, but the slot rows still cap the holders at
/// [`SLOTS`]: a member already working keeps the one it holds when a newcomer shifts the
/// ranks (else its calls in flight would wait for a slot that never comes), and the
/// newcomer waits for a slot to free.
pub fn fair_share(members: usize, rank: usize) -> i64 {
    let members = members.max(1) as i64;
    let rank = rank as i64;
    (SLOTS / members + i64::from(rank < SLOTS % members)).max(1)
}

#[cfg(test)]
mod tests {
    use super::fair_share;

    #[test]
    fn the_slots_are_shared_out_whole_and_a_working_member_keeps_one() {
        for members in 1..=3 {
            let total: i64 = (0..members).map(|r| fair_share(members, r)).sum();
            assert_eq!(total, 3, "{members} members");
        }
        assert_eq!(fair_share(1, 0), 3);
        assert_eq!((fair_share(2, 0), fair_share(2, 1)), (2, 1));
        assert_eq!(fair_share(4, 3), 1, "the slot rows, not the share, keep a fourth member waiting");
    }
}
