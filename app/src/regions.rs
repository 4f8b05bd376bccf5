//! Data regions (workload rings): each customer's backups live in the region of its
//! country. The table is the product's documented placement (README, "Data regions").

/// A region and the ISO 3166-1 alpha-2 countries placed in it.
pub struct Region {
    /// Stored code.
    pub code: &'static str,
    /// Label.
    pub label: &'static str,
    /// Short label for dense tables.
    pub short: &'static str,
    /// Countries; the United States region also takes every country not listed anywhere.
    pub countries: &'static [&'static str],
}

/// Every region. Countries not listed go to [`DEFAULT_REGION`].
pub const REGIONS: &[Region] = &[
    Region {
        code: "us",
        short: "US",
        label: "United States",
        countries: &["US", "PR", "GU", "VI", "AS", "MP", "UM", "MX", "BR", "AR", "CL", "CO", "PE"],
    },
    Region { code: "ca", short: "CA", label: "Canada", countries: &["CA"] },
    Region {
        code: "eu",
        short: "EU",
        label: "European Union",
        countries: &[
            "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO",
            "SK", "SI", "ES", "SE", "IS", "LI", "NO", "CH",
        ],
    },
    Region { code: "uk", short: "UK", label: "United Kingdom", countries: &["GB", "IM", "JE", "GG"] },
    Region { code: "au", short: "AU/NZ", label: "Australia & New Zealand", countries: &["AU", "NZ"] },
    Region { code: "ap", short: "APAC", label: "Asia Pacific", countries: &["SG", "JP", "IN", "HK", "MY", "PH", "ID", "TH", "VN", "KR", "TW"] },
    Region { code: "za", short: "ZA", label: "South Africa", countries: &["ZA", "NA", "BW"] },
];

/// Where countries without a region of their own go (and companies without a country,
/// which import as the United States).
pub const DEFAULT_REGION: &str = "us";

/// The region code of an ISO alpha-2 country (case-insensitive).
pub fn region_for(country_code: &str) -> &'static str {
    let code = country_code.trim().to_ascii_uppercase();
    REGIONS.iter().find(|r| r.countries.contains(&code.as_str())).map(|r| r.code).unwrap_or(DEFAULT_REGION)
}

/// The short label of a region code.
pub fn region_short(code: &str) -> &'static str {
    REGIONS.iter().find(|r| r.code == code).map(|r| r.short).unwrap_or("US")
}

/// The label of a region code.
pub fn region_label(code: &str) -> &'static str {
    REGIONS.iter().find(|r| r.code == code).map(|r| r.label).unwrap_or("United States")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_land_in_their_region_and_the_rest_in_the_default() {
        assert_eq!(region_for("de"), "eu");
        assert_eq!(region_for("GB"), "uk");
        assert_eq!(region_for("NZ"), "au");
        assert_eq!(region_for("CA"), "ca");
        assert_eq!(region_for("KE"), DEFAULT_REGION);
        assert_eq!(region_label("eu"), "European Union");
    }

    #[test]
    fn no_country_is_in_two_regions() {
        let mut seen = std::collections::HashSet::new();
        for r in REGIONS {
            for c in r.countries {
                assert!(seen.insert(*c), "{c} is listed twice");
            }
        }
    }
}
