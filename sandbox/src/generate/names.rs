//! The word lists a generated tenant is made of: countries (with states in and out of
//! ISO form), company name parts, people, and the services, bundles and resources every
//! tenant has; and how company names and their near-duplicates are built.

use super::*;

/// (id, ISO alpha-2, name, states: ISO codes then non-ISO spellings seen in real data, cities).
pub(super) type CountryRow = (i64, &'static str, &'static str, &'static [&'static str], &'static [&'static str], &'static [&'static str]);

pub(super) const COUNTRIES: &[CountryRow] = &[
    (
        237,
        "US",
        "United States",
        &["NY", "CA", "TX", "FL", "IL", "WA", "MA", "GA", "NC", "CO", "OH", "AZ"],
        &["N.Y.", "Texas", "Calif.", "Florida", "Mass.", "Ill"],
        &["New York", "Austin", "San Diego", "Miami", "Chicago", "Seattle", "Boston", "Atlanta", "Raleigh", "Denver", "Columbus", "Phoenix"],
    ),
    (39, "CA", "Canada", &["ON", "QC", "BC", "AB", "MB"], &["Ontario", "Qué."], &["Toronto", "Montréal", "Vancouver", "Calgary", "Winnipeg"]),
    (
        236,
        "GB",
        "United Kingdom",
        &["LND", "MAN", "BIR", "EDH", "GLG"],
        &["Greater London", "Lancs"],
        &["London", "Manchester", "Birmingham", "Edinburgh", "Glasgow"],
    ),
    (
        84,
        "DE",
        "Germany",
        &["BY", "BE", "HH", "NW", "HE"],
        &["Bavaria", "Nordrhein-Westfalen"],
        &["München", "Berlin", "Hamburg", "Köln", "Frankfurt am Main"],
    ),
    (77, "FR", "France", &["IDF", "ARA", "PAC", "OCC"], &["Île-de-France"], &["Paris", "Lyon", "Marseille", "Toulouse"]),
    (155, "NL", "Netherlands", &["NH", "ZH", "UT", "NB"], &["Noord Holland"], &["Amsterdam", "Rotterdam", "Utrecht", "Eindhoven"]),
    (23, "BE", "Belgium", &["BRU", "VAN", "WLG"], &["Brussels"], &["Brussels", "Antwerpen", "Liège"]),
    (106, "IE", "Ireland", &["D", "C", "G"], &["Co. Dublin"], &["Dublin", "Cork", "Galway"]),
    (
        14,
        "AU",
        "Australia",
        &["NSW", "VIC", "QLD", "WA", "SA"],
        &["New South Wales", "Vic."],
        &["Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide"],
    ),
    (157, "NZ", "New Zealand", &["AUK", "WGN", "CAN"], &["Auckland Region"], &["Auckland", "Wellington", "Christchurch"]),
    (209, "ES", "Spain", &["MD", "CT", "AN"], &["Madrid"], &["Madrid", "Barcelona", "Sevilla"]),
    (109, "IT", "Italy", &["RM", "MI", "TO"], &["Lombardia"], &["Roma", "Milano", "Torino"]),
    (216, "CH", "Switzerland", &["ZH", "BE", "GE"], &["Zürich"], &["Zürich", "Bern", "Genève"]),
    (15, "AT", "Austria", &["9", "6", "5"], &["Wien"], &["Wien", "Graz", "Salzburg"]),
    (214, "SE", "Sweden", &["AB", "M", "O"], &["Stockholms län"], &["Stockholm", "Malmö", "Göteborg"]),
    (164, "NO", "Norway", &["03", "46"], &["Oslo"], &["Oslo", "Bergen"]),
    (60, "DK", "Denmark", &["84", "82"], &["Hovedstaden"], &["København", "Aarhus"]),
    (177, "PL", "Poland", &["14", "12"], &["Mazowieckie"], &["Warszawa", "Kraków"]),
    (142, "MX", "Mexico", &["CMX", "JAL", "NLE"], &["Jalisco"], &["Ciudad de México", "Guadalajara", "Monterrey"]),
    (31, "BR", "Brazil", &["SP", "RJ"], &["São Paulo"], &["São Paulo", "Rio de Janeiro"]),
    (207, "ZA", "South Africa", &["GP", "WC"], &["Gauteng Province"], &["Johannesburg", "Cape Town"]),
    (199, "SG", "Singapore", &["01"], &[], &["Singapore"]),
    (111, "JP", "Japan", &["13", "27"], &["Tokyo"], &["Tokyo", "Osaka"]),
    (100, "IN", "India", &["MH", "KA", "DL"], &["Maharashtra"], &["Mumbai", "Bengaluru", "New Delhi"]),
];

pub(super) const BASES: &[&str] = &[
    "Acme",
    "Blue Ridge",
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Summit",
    "Harbor",
    "Pinnacle",
    "Evergreen",
    "Redwood",
    "Lakeside",
    "Granite",
    "Silverline",
    "Brightpath",
    "Keystone",
    "Ironwood",
    "Cedar",
    "Maple Leaf",
    "Riverbend",
    "Crescent",
    "Atlas",
    "Beacon",
    "Cobalt",
    "Delta",
    "Falcon",
    "Horizon",
    "Juniper",
    "Meridian",
    "Orion",
    "Prairie",
    "Quantum",
    "Sterling",
    "Trident",
    "Vertex",
    "Willow",
    "Zenith",
    "Nordlicht",
    "Étoile",
    "Alpenglühen",
    "Costa Verde",
];
pub(super) const PEOPLE: &[&str] = &[
    "Smith",
    "Jones",
    "O'Brien",
    "Müller",
    "García",
    "Dubois",
    "Nguyen",
    "Kowalski",
    "Rossi",
    "Andersson",
    "Dvořák",
    "Sørensen",
    "Ó Briain",
    "D'Angelo",
    "McAllister",
    "Schäfer",
    "Núñez",
    "Lefèvre",
    "Patel",
    "Okafor",
];
pub(super) const TRADES: &[&str] = &[
    "Dental",
    "Legal",
    "Accounting",
    "Logistics",
    "Manufacturing",
    "Medical",
    "Architects",
    "Engineering",
    "Insurance",
    "Realty",
    "Construction",
    "Veterinary",
    "Hotels",
    "Café",
    "Bakery",
    "Consulting",
    "Pharmacy",
    "Data Services",
    "IT",
    "Print & Copy",
];
pub(super) const SUFFIXES: &[&str] =
    &["Inc", "Inc.", "LLC", "L.L.C.", "Ltd", "Ltd.", "GmbH", "S.A.", "B.V.", "Pty Ltd", "Corp.", "Co.", "Group", "", "", ""];
pub(super) const FIRST: &[&str] = &[
    "James",
    "Mary",
    "José",
    "Zoë",
    "François",
    "Søren",
    "Łukasz",
    "Siobhán",
    "Aiko",
    "Priya",
    "Chen",
    "Fatima",
    "Olivia",
    "Liam",
    "Noah",
    "Emma",
    "Mateo",
    "Ingrid",
    "Hélène",
    "Björn",
    "Renée",
    "Seán",
    "Amélie",
    "Jürgen",
    "Ana",
    "Kwame",
    "Yuki",
    "Omar",
    "Sofia",
    "Lucas",
];
pub(super) const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "O'Neil",
    "Müller",
    "García",
    "Dubois",
    "Nguyen",
    "Kowalski",
    "Rossi",
    "Andersson",
    "Novák",
    "Jensen",
    "Byrne",
    "D'Souza",
    "Brown",
    "Martin",
    "Lefebvre",
    "Schmidt",
    "Fernández",
    "Tanaka",
    "Okonkwo",
    "Larsen",
    "Ó Súilleabháin",
    "Van der Berg",
    "MacLeod",
];

/// The services of the tenant: (id, name, period type, unit price, active, bundle only).
pub const SERVICES: &[(i64, &str, i64, f64, bool, bool)] = &[
    (29_683_101, "Server Backup Licence", 1, 45.0, true, false),
    (29_683_102, "Workstation Backup Licence", 1, 8.0, true, false),
    (29_683_103, "Cloud Storage (per GB)", 1, 0.08, true, false),
    (29_683_104, "BDR Appliance Rental", 1, 120.0, true, false),
    (29_683_105, "Microsoft 365 Backup Seat", 1, 3.0, true, false),
    (29_683_106, "Annual DR Test", 4, 900.0, true, false),
    (29_683_107, "Quarterly Compliance Report", 2, 150.0, true, false),
    (29_683_108, "Email Archiving Seat", 1, 2.5, true, true),
    (29_683_109, "Offsite Replication", 1, 60.0, true, true),
    (29_683_110, "Legacy Tape Rotation", 1, 35.0, false, false),
];

/// Service bundles: (id, name, period type, price, member service ids).
pub const BUNDLES: &[(i64, &str, i64, f64, &[i64])] = &[
    (29_683_201, "Backup Essentials Bundle", 1, 95.0, &[29_683_101, 29_683_108, 29_683_109]),
    (29_683_202, "Compliance Bundle", 4, 1500.0, &[29_683_106, 29_683_107]),
];

/// The resources (users) of the tenant: (id, first, last, email, active).
pub const RESOURCES: &[(i64, &str, &str, &str, bool)] = &[
    (29_682_885, "Sandbox", "API User", "sandbox-api@taskbridge.local", true),
    (29_682_886, "Alex", "Morgan", "alex.morgan@sandbox-msp.example", true),
    (29_682_887, "Priya", "Shah", "priya.shah@sandbox-msp.example", true),
    (29_682_888, "Jonas", "Weiß", "jonas.weiss@sandbox-msp.example", true),
    (29_682_889, "Former", "Technician", "former.tech@sandbox-msp.example", false),
];

pub(super) fn slug(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
            'í' | 'ï' | 'î' => 'i',
            'ó' | 'ö' | 'ô' | 'Ó' | 'ø' => 'o',
            'ú' | 'ü' | 'û' => 'u',
            'ñ' | 'ń' => 'n',
            'ç' => 'c',
            'ł' | 'Ł' => 'l',
            'ř' => 'r',
            'ß' => 's',
            c => c,
        })
        .collect();
    ascii.to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

pub(super) fn company_name(rng: &mut Rng, index: usize) -> String {
    let suffix = *rng.pick(SUFFIXES);
    let name = match rng.below(6) {
        0 | 1 => format!("{} {}", rng.pick(BASES), rng.pick(TRADES)),
        2 => format!("{} & {} {}", rng.pick(PEOPLE), rng.pick(PEOPLE), rng.pick(TRADES)),
        3 => format!("{} {}", rng.pick(PEOPLE), rng.pick(TRADES)),
        4 => format!("{} {} of {}", rng.pick(BASES), rng.pick(TRADES), rng.pick(COUNTRIES).5.first().copied().unwrap_or("Springfield")),
        _ => format!("{} {}", rng.pick(BASES), rng.pick(BASES)),
    };
    let name = if suffix.is_empty() { name } else { format!("{name} {suffix}") };
    // Large tenants get a branch qualifier now and then so most names stay distinct.
    if index > 2_000 && rng.chance(0.6) {
        format!("{name} #{}", index % 997)
    } else {
        name
    }
}

/// A near-duplicate of an existing name: punctuation, case, `&`/`and`, or legal suffix changed.
pub(super) fn near_duplicate(rng: &mut Rng, name: &str) -> String {
    match rng.below(5) {
        0 if name.contains(" & ") => name.replace(" & ", " and "),
        0 | 1 => {
            for (a, b) in [(" Inc.", " Inc"), (" Inc", " LLC"), (" LLC", " L.L.C."), (" Ltd.", " Ltd"), (" Ltd", " Limited"), (" Co.", " Company")] {
                if let Some(stem) = name.strip_suffix(a) {
                    return format!("{stem}{b}");
                }
            }
            format!("{name}, Inc.")
        }
        2 => name.to_uppercase(),
        3 => name.replace(['\'', '.'], ""),
        _ => format!("{name} "),
    }
}
