//! A deterministic tenant generator: the same seed and sizes always give the same data.
//! The data is full of the cases real tenants have and the product must cope with:
//! names with `&`, accents and apostrophes, Inc/LLC variants and near-duplicates,
//! prospects, vendors and inactive companies, missing addresses, states not in ISO form,
//! companies without a primary contact, many countries, recurring and other contracts,
//! expired contracts, and services sold only inside bundles.

mod names;

use crate::schema::{COMPANY_CUSTOMER, CONTRACT_RECURRING, QUEUE_MANAGED_SERVICES_ALERTS, STATUS_COMPLETE, STATUS_NEW};
use crate::store::{Record, Tenant};
use names::*;
pub use names::{BUNDLES, RESOURCES, SERVICES};
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::SplitMix64;
use serde_json::{json, Value};

/// Sizes and seed.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Seed.
    pub seed: u64,
    /// Companies (besides company 0, the tenant's own).
    pub companies: usize,
    /// Contacts in all.
    pub contacts: usize,
    /// The (year, month) billing periods are generated around: the month before it, it,
    /// and the two after it.
    pub anchor_month: (i32, u32),
}

impl Spec {
    /// The default demo size.
    pub fn demo(seed: u64) -> Self {
        Self { seed, companies: 250, contacts: 600, anchor_month: current_month() }
    }
}

/// The current (year, month), UTC.
pub fn current_month() -> (i32, u32) {
    use chrono::Datelike;
    let now = chrono::Utc::now();
    (now.year(), now.month())
}

fn add_months((y, m): (i32, u32), delta: i32) -> (i32, u32) {
    let total = y * 12 + m as i32 - 1 + delta;
    (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32)
}

/// The tenant generator: SplitMix64 (from `rand_xoshiro`, the rust-random project's), whose
/// output is fixed by its published reference, so a seed gives the same tenant in every
/// version (library RNGs such as `StdRng` do not promise that).
pub struct Rng(SplitMix64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Self(SplitMix64::seed_from_u64(seed ^ 0x5EED_0F7A_5B21_D6E1))
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    /// True with probability p.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    /// One element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn obj(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        _ => Record::new(),
    }
}

fn date(y: i32, m: u32, d: u32) -> String {
    format!("{y:04}-{m:02}-{d:02}T00:00:00Z")
}

/// Builds the tenant.
pub fn generate(spec: Spec) -> Tenant {
    let mut rng = Rng::new(spec.seed);
    let mut t = Tenant::default();

    for (id, code, name, _, _, _) in COUNTRIES {
        t.insert("Countries", obj(json!({"id": id, "countryCode": code, "name": name.to_uppercase(), "displayName": name, "isActive": true, "isDefaultCountry": *code == "US", "addressFormatID": 1})));
    }
    t.insert("Countries", obj(json!({"id": 900, "countryCode": "XK", "name": "KOSOVO (LEGACY)", "displayName": "Kosovo (legacy)", "isActive": false, "isDefaultCountry": false, "addressFormatID": 1})));
    // The internal currency (what Autotask totals in) and two others for foreign customers.
    for (id, code, description, rate, internal) in
        [(1, "USD", "US Dollar", 1.0, true), (2, "EUR", "Euro", 0.92, false), (3, "GBP", "Pound Sterling", 0.79, false)]
    {
        t.insert("Currencies", obj(json!({"id": id, "name": code, "description": description, "exchangeRate": rate, "isActive": true, "isInternalCurrency": internal, "currencyPositiveFormat": "X", "currencyNegativeFormat": "-X", "displaySymbol": id})));
    }
    for (id, first, last, email, active) in RESOURCES {
        t.insert("Resources", obj(json!({"id": id, "firstName": first, "lastName": last, "email": email, "isActive": active, "userName": email, "resourceType": "Employee", "userType": 1})));
    }
    for (id, name, period, price, active, _) in SERVICES {
        t.insert("Services", obj(json!({"id": id, "name": name, "description": name, "invoiceDescription": name, "periodType": period, "unitPrice": price, "unitCost": price * 0.4, "isActive": active, "billingCodeID": 29_682_860, "createDate": date(2024, 1, 15)})));
    }
    for (id, name, period, price, members) in BUNDLES {
        t.insert("ServiceBundles", obj(json!({"id": id, "name": name, "description": name, "periodType": period, "unitPrice": price, "isActive": true, "createDate": date(2024, 2, 1)})));
        for service in *members {
            t.insert("ServiceBundleServices", obj(json!({"serviceBundleID": id, "serviceID": service})));
        }
    }

    // Company 0 is the tenant's own company.
    t.insert("Companies", obj(json!({"id": 0, "companyName": "Sandbox MSP (your company)", "companyType": 8, "isActive": true, "countryID": 237, "ownerResourceID": 29_682_885, "createDate": date(2019, 5, 1), "lastTrackedModifiedDateTime": date(2019, 5, 1)})));
    let mut names: Vec<String> = Vec::with_capacity(spec.companies);
    let mut company_ids = Vec::with_capacity(spec.companies);
    let mut id = 1_000i64;
    for i in 0..spec.companies {
        id += 1 + rng.below(3) as i64;
        let name = if i > 10 && rng.chance(0.04) {
            let earlier = names[rng.below(names.len())].clone();
            near_duplicate(&mut rng, &earlier)
        } else {
            company_name(&mut rng, i)
        };
        names.push(name.clone());
        let kind = match rng.below(100) {
            0..=79 => COMPANY_CUSTOMER,
            80..=89 => 3,
            90..=94 => 7,
            95..=97 => 2,
            _ => 6,
        };
        let active = !rng.chance(0.08);
        let country = if rng.chance(0.05) {
            None
        } else if rng.chance(0.55) {
            Some(&COUNTRIES[0])
        } else {
            Some(rng.pick(COUNTRIES))
        };
        let missing_address = rng.chance(0.07);
        let (address1, city, state, postal) = match (country, missing_address) {
            (Some((_, _, _, iso, loose, cities)), false) => {
                let state = if !loose.is_empty() && rng.chance(0.12) {
                    Some(*rng.pick(loose))
                } else if rng.chance(0.9) {
                    Some(*rng.pick(iso))
                } else {
                    None
                };
                (
                    Some(format!("{} {} Street", 1 + rng.below(9_999), rng.pick(BASES))),
                    Some(*rng.pick(cities)),
                    state,
                    Some(format!("{:05}", rng.below(99_999))),
                )
            }
            _ => (None, None, None, None),
        };
        let domain = format!("{}.example", slug(&name).chars().take(24).collect::<String>());
        let ranking = if rng.chance(0.2) { Value::from(*rng.pick(&["Gold", "Silver", "Bronze"])) } else { Value::Null };
        t.insert(
            "Companies",
            obj(json!({
                "id": id,
                "companyName": name,
                "companyNumber": format!("C{id:06}"),
                "companyType": kind,
                "isActive": active,
                "address1": address1,
                "city": city,
                "state": state,
                "postalCode": postal,
                "countryID": country.map(|c| c.0),
                "phone": if rng.chance(0.9) { Value::from(format!("+1 555 {:03} {:04}", rng.below(1000), rng.below(10_000))) } else { Value::Null },
                "webAddress": if rng.chance(0.7) { Value::from(format!("https://www.{domain}")) } else { Value::Null },
                "ownerResourceID": RESOURCES[1 + rng.below(3)].0,
                "classification": if rng.chance(0.3) { Value::from(1 + rng.below(3) as i64) } else { Value::Null },
                "createDate": date(2018 + rng.below(8) as i32, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32),
                "lastTrackedModifiedDateTime": date(2026, 1 + rng.below(10) as u32, 1 + rng.below(28) as u32),
                "userDefinedFields": [{"name": "Customer Ranking", "value": ranking}],
            })),
        );
        company_ids.push((id, kind, active, domain));
    }

    // Contacts: spread over companies; the first of a company is its primary contact,
    // except for about 6% of companies, which have none.
    let mut contact_id = 30_680_000i64;
    let mut per_company = vec![0usize; company_ids.len()];
    let no_primary: Vec<bool> = company_ids.iter().map(|_| rng.chance(0.06)).collect();
    for n in 0..spec.contacts {
        if company_ids.is_empty() {
            break;
        }
        // Round-robin first so every company gets one before others get a second.
        let ci = if n < company_ids.len() { n } else { rng.below(company_ids.len()) };
        let (company_id, _, _, domain) = &company_ids[ci];
        contact_id += 1 + rng.below(2) as i64;
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        let primary = per_company[ci] == 0 && !no_primary[ci];
        per_company[ci] += 1;
        let email = if primary && rng.chance(0.03) { Value::Null } else { Value::from(format!("{}.{}@{domain}", slug(first), slug(last))) };
        let last_name = if primary && rng.chance(0.01) { Value::Null } else { Value::from(last) };
        t.insert(
            "Contacts",
            obj(json!({
                "id": contact_id,
                "companyID": company_id,
                "firstName": first,
                "lastName": last_name,
                "emailAddress": email,
                "phone": format!("+1 555 {:03} {:04}", rng.below(1000), rng.below(10_000)),
                "title": rng.pick(&["Office Manager", "IT Manager", "Owner", "CFO", "Practice Manager", "Director"]),
                "isActive": if rng.chance(0.05) { 0 } else { 1 },
                "primaryContact": primary,
                "billingContact": primary && rng.chance(0.5),
                "createDate": date(2019 + rng.below(7) as i32, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32),
                "lastModifiedDate": date(2026, 1 + rng.below(10) as u32, 1 + rng.below(28) as u32),
            })),
        );
    }

    // Contracts for active customers, with services and their billed units.
    let mut contract_id = 486i64;
    let mut bundle_rng = Rng::new(spec.seed ^ 0xB0D1E);
    for (company_id, kind, active, _) in &company_ids {
        if *kind != COMPANY_CUSTOMER || !active {
            continue;
        }
        for n in 0..rng.below(4) {
            contract_id += 1 + rng.below(2) as i64;
            let contract_type = match rng.below(20) {
                0..=11 => CONTRACT_RECURRING,
                12..=14 => 1,
                15..=16 => 4,
                17..=18 => 3,
                _ => 6,
            };
            let status = if rng.chance(0.1) { 0 } else { 1 };
            let expired = rng.chance(0.12);
            let name = match contract_type {
                CONTRACT_RECURRING => format!("Managed Backup {}", 2024 + n as i32),
                1 => "Support (T&M)".to_string(),
                4 => "Block Hours 2026".to_string(),
                3 => "Migration Project (Fixed Price)".to_string(),
                _ => "Retainer".to_string(),
            };
            t.insert(
                "Contracts",
                obj(json!({
                    "id": contract_id,
                    "companyID": company_id,
                    "contractName": name,
                    "contractNumber": format!("CN-{contract_id}"),
                    "contractType": contract_type,
                    "contractCategory": 3,
                    "contractPeriodType": 1,
                    "status": status,
                    "startDate": date(2024, 1 + rng.below(12) as u32, 1),
                    "endDate": if expired { date(2025, 12, 31) } else { date(2027 + rng.below(3) as i32, 12, 31) },
                    "isDefaultContract": n == 0,
                    "estimatedRevenue": (rng.below(20_000) as f64) + 0.5,
                    "billingPreference": 1,
                    // Spec-2026's read-only change time; derived, so the random stream is unchanged.
                    "lastModifiedDateTime": date(2026, 1 + (contract_id % 10) as u32, 1 + (contract_id % 28) as u32),
                })),
            );
            if contract_type != CONTRACT_RECURRING {
                continue;
            }
            let mut chosen: Vec<usize> = (0..5).filter(|_| rng.chance(0.45)).collect();
            if chosen.is_empty() && rng.chance(0.7) {
                chosen.push(rng.below(5));
            }
            // Bundles come from their own stream so the rest of the tenant stays as it was.
            let no_direct_services = chosen.is_empty();
            if (no_direct_services && bundle_rng.chance(0.6)) || bundle_rng.chance(0.12) {
                let (bundle_id, _, _, price, _) = BUNDLES[0];
                t.insert("ContractServiceBundles", obj(json!({"contractID": contract_id, "serviceBundleID": bundle_id, "unitPrice": price, "adjustedPrice": price, "invoiceDescription": BUNDLES[0].1})));
            }
            for si in chosen {
                let (service_id, _, _, price, _, _) = SERVICES[si];
                let cs_id = t.insert("ContractServices", obj(json!({"contractID": contract_id, "serviceID": service_id, "unitPrice": price, "unitCost": price * 0.4, "invoiceDescription": SERVICES[si].1})));
                let units = if si == 2 { 100 + rng.below(4_900) } else { 1 + rng.below(40) } as i64;
                for delta in -1..=2 {
                    let (y, m) = add_months(spec.anchor_month, delta);
                    let (ey, em) = add_months((y, m), 1);
                    t.insert(
                        "ContractServiceUnits",
                        obj(json!({
                            "contractID": contract_id,
                            "contractServiceID": cs_id,
                            "serviceID": service_id,
                            "startDate": date(y, m, 1),
                            "endDate": date(ey, em, 1),
                            "units": units,
                            "price": price * units as f64,
                            "cost": price * 0.4 * units as f64,
                        })),
                    );
                }
            }
        }
    }

    // A few tickets, some completed, with notes.
    let customers: Vec<i64> = company_ids.iter().filter(|c| c.1 == COMPANY_CUSTOMER && c.2).map(|c| c.0).collect();
    let ticket_count = (spec.companies / 10).clamp(3, 400);
    for n in 0..ticket_count {
        if customers.is_empty() {
            break;
        }
        let company_id = *rng.pick(&customers);
        let completed = rng.chance(0.4);
        let day = 1 + rng.below(20) as u32;
        let ticket_id = t.insert(
            "Tickets",
            obj(json!({
                "companyID": company_id,
                "title": rng.pick(&["Backup job failed on FS01", "Restore request: finance share", "Appliance disk warning", "Archiving failed for mailbox"]),
                "description": "Created by the sandbox generator.",
                "status": if completed { STATUS_COMPLETE } else { STATUS_NEW },
                "priority": 2,
                "queueID": if rng.chance(0.5) { QUEUE_MANAGED_SERVICES_ALERTS } else { 29_683_355 },
                "ticketNumber": format!("T202611{day:02}.{:04}", n + 1),
                "ticketType": 2,
                "source": 8,
                "issueType": 1,
                "subIssueType": 10,
                "createDate": date(2026, 11, day),
                "dueDateTime": date(2026, 11, day + 2),
                "completedDate": if completed { Value::from(date(2026, 11, day + 1)) } else { Value::Null },
                "lastTrackedModificationDateTime": date(2026, 11, day),
            })),
        );
        t.insert("TicketNotes", obj(json!({"ticketID": ticket_id, "title": "Update", "description": "Investigating.", "noteType": 1, "publish": 1, "createDateTime": date(2026, 11, day), "creatorResourceID": 29_682_886})));
    }
    t.ticket_numbers.insert("20261121".into(), ticket_count as i64);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_wrap_around_years() {
        assert_eq!(add_months((2026, 12), 1), (2027, 1));
        assert_eq!(add_months((2026, 1), -1), (2025, 12));
    }

    #[test]
    fn the_generator_gives_the_published_splitmix64_stream() {
        // The values the hand-written SplitMix64 this replaced gave for seed 42: every
        // tenant, test and benchmark generated before stays the same.
        let mut rng = Rng::new(42);
        assert_eq!(
            [rng.next_u64(), rng.next_u64(), rng.next_u64()],
            [7_381_699_849_049_013_687, 18_318_149_536_166_663_156, 2_207_967_810_347_513_247]
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_tenant() {
        let a = serde_json::to_string(&generate(Spec { seed: 42, companies: 300, contacts: 700, anchor_month: (2026, 11) }).tables["Companies"].rows)
            .unwrap();
        let b = serde_json::to_string(&generate(Spec { seed: 42, companies: 300, contacts: 700, anchor_month: (2026, 11) }).tables["Companies"].rows)
            .unwrap();
        let c = serde_json::to_string(&generate(Spec { seed: 43, companies: 300, contacts: 700, anchor_month: (2026, 11) }).tables["Companies"].rows)
            .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn the_data_holds_the_hard_cases() {
        let t = generate(Spec { seed: 1, companies: 2_000, contacts: 4_800, anchor_month: (2026, 11) });
        let companies: Vec<&Record> = t.tables["Companies"].rows.values().collect();
        assert_eq!(companies.len(), 2_001);
        assert_eq!(t.tables["Contacts"].rows.len(), 4_800);
        let name = |r: &&Record| r["companyName"].as_str().unwrap_or_default().to_string();
        assert!(companies.iter().any(|r| name(r).contains(" & ")));
        assert!(companies.iter().any(|r| name(r).contains('\'')));
        assert!(companies.iter().any(|r| !name(r).is_ascii()));
        assert!(companies.iter().any(|r| name(r).ends_with(" LLC")) && companies.iter().any(|r| name(r).ends_with(" Inc.")));
        for kind in [1, 3, 7] {
            assert!(companies.iter().any(|r| r["companyType"] == kind), "type {kind}");
        }
        assert!(companies.iter().any(|r| r["isActive"] == false));
        assert!(companies.iter().any(|r| r["address1"].is_null() && r["id"] != 0));
        assert!(companies.iter().any(|r| r["countryID"].is_null()));
        assert!(companies.iter().any(|r| ["N.Y.", "Texas"].contains(&r["state"].as_str().unwrap_or_default())));
        let countries: std::collections::HashSet<_> = companies.iter().map(|r| r["countryID"].to_string()).collect();
        assert!(countries.len() > 15);
        let with_primary: std::collections::HashSet<_> =
            t.tables["Contacts"].rows.values().filter(|c| c["primaryContact"] == true).map(|c| c["companyID"].to_string()).collect();
        assert!(with_primary.len() < companies.len() - 1, "some companies have no primary contact");
        let contracts: Vec<&Record> = t.tables["Contracts"].rows.values().collect();
        assert!(contracts.iter().any(|c| c["contractType"] == CONTRACT_RECURRING) && contracts.iter().any(|c| c["contractType"] == 1));
        assert!(contracts.iter().any(|c| c["endDate"] == "2025-12-31T00:00:00Z"));
        assert!(SERVICES.iter().any(|s| s.5), "bundle-only services exist");
        // Some recurring contracts carry their services only inside a bundle.
        let direct: std::collections::HashSet<String> = t.tables["ContractServices"].rows.values().map(|r| r["contractID"].to_string()).collect();
        let bundled: Vec<String> = t.tables["ContractServiceBundles"].rows.values().map(|r| r["contractID"].to_string()).collect();
        assert!(bundled.iter().any(|c| !direct.contains(c)) && bundled.iter().any(|c| direct.contains(c)));
        assert!(!t.tables["ContractServiceUnits"].rows.is_empty());
    }
}
