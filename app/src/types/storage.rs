//! Where backup users' data goes: storage destinations (a bucket, container or root folder
//! at a storage provider) and packages (a storage limit), with the checks both the
//! browser form and the server run.

mod input;

pub use input::{DestinationInput, PackageInput, ValidDestination, ValidPackage, MAX_LIMIT_GB, MAX_NAME};

use super::UnixMillis;
use serde::{Deserialize, Serialize};

/// A storage provider a destination lives at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Amazon S3.
    AmazonS3,
    /// Microsoft Azure Blob Storage.
    AzureBlob,
    /// Wasabi Hot Cloud Storage.
    Wasabi,
    /// Backblaze B2.
    BackblazeB2,
    /// Google Cloud Storage.
    GoogleCloud,
    /// Any other S3-compatible service (MinIO, Ceph...).
    S3Compatible,
    /// A local disk or NAS share.
    LocalNas,
}

/// What a destination is at its provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationKind {
    /// An object storage bucket.
    Bucket,
    /// An Azure Blob container.
    Container,
    /// A folder on a disk or share.
    RootFolder,
}

impl DestinationKind {
    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            DestinationKind::Bucket => "Bucket",
            DestinationKind::Container => "Container",
            DestinationKind::RootFolder => "Root folder",
        }
    }
}

impl Provider {
    /// Every provider, in the order the form lists them.
    pub const ALL: [Provider; 7] = [
        Provider::AmazonS3,
        Provider::AzureBlob,
        Provider::Wasabi,
        Provider::BackblazeB2,
        Provider::GoogleCloud,
        Provider::S3Compatible,
        Provider::LocalNas,
    ];

    /// Stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::AmazonS3 => "amazon_s3",
            Provider::AzureBlob => "azure_blob",
            Provider::Wasabi => "wasabi",
            Provider::BackblazeB2 => "backblaze_b2",
            Provider::GoogleCloud => "google_cloud",
            Provider::S3Compatible => "s3_compatible",
            Provider::LocalNas => "local_nas",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            Provider::AmazonS3 => "Amazon S3",
            Provider::AzureBlob => "Azure Blob Storage",
            Provider::Wasabi => "Wasabi",
            Provider::BackblazeB2 => "Backblaze B2",
            Provider::GoogleCloud => "Google Cloud Storage",
            Provider::S3Compatible => "S3-compatible",
            Provider::LocalNas => "Local disk / NAS",
        }
    }

    /// What a destination is at this provider.
    pub fn kind(self) -> DestinationKind {
        match self {
            Provider::AzureBlob => DestinationKind::Container,
            Provider::LocalNas => DestinationKind::RootFolder,
            _ => DestinationKind::Bucket,
        }
    }

    /// Whether the provider has regions (a destination there must name one).
    pub fn has_regions(self) -> bool {
        !matches!(self, Provider::LocalNas | Provider::S3Compatible)
    }

    /// Common regions, offered as suggestions (any region code of the right form is accepted).
    pub fn suggested_regions(self) -> &'static [&'static str] {
        match self {
            Provider::AmazonS3 => {
                &["us-east-1", "us-east-2", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-central-1", "ap-southeast-2"]
            }
            Provider::AzureBlob => &["eastus", "eastus2", "westus2", "canadacentral", "westeurope", "northeurope", "uksouth", "australiaeast"],
            Provider::Wasabi => &["us-east-1", "us-east-2", "us-west-1", "ca-central-1", "eu-central-1", "eu-west-1", "ap-southeast-2"],
            Provider::BackblazeB2 => &["us-west-004", "us-east-005", "eu-central-003"],
            Provider::GoogleCloud => &["us-central1", "us-east1", "northamerica-northeast1", "europe-west1", "europe-west2", "australia-southeast1"],
            Provider::S3Compatible | Provider::LocalNas => &[],
        }
    }
}

/// A destination as the Storage page and the drop-downs show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    /// Id.
    pub destination_id: i64,
    /// The partner's name for it.
    pub name: String,
    /// Provider.
    pub provider: Provider,
    /// Bucket, container or root folder (follows the provider).
    pub kind: DestinationKind,
    /// The bucket or container name, or the folder path.
    pub location: String,
    /// The provider's region (None where it has none).
    pub region: Option<String>,
    /// Retired: kept for its users, not offered for new ones.
    pub retired: bool,
    /// Backup users whose data goes there.
    pub users: i64,
    /// Last change.
    pub updated_at: UnixMillis,
}

impl Destination {
    /// "Name (Amazon S3, us-east-1)", for drop-downs.
    pub fn option_label(&self) -> String {
        match &self.region {
            Some(region) => format!("{} ({}, {region})", self.name, self.provider.label()),
            None => format!("{} ({})", self.name, self.provider.label()),
        }
    }
}

/// A package as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Id.
    pub package_id: i64,
    /// Name.
    pub name: String,
    /// Storage limit in GB (None: unlimited).
    pub limit_gb: Option<i64>,
    /// Retired: kept for its users, not offered for new ones.
    pub retired: bool,
    /// Backup users on it.
    pub users: i64,
    /// Last change.
    pub updated_at: UnixMillis,
}

impl Package {
    /// "Name (500 GB)" or "Name (unlimited)", for drop-downs.
    pub fn option_label(&self) -> String {
        format!("{} ({})", self.name, limit_label(self.limit_gb))
    }
}

/// "1,000 GB", or "Unlimited".
pub fn limit_label(limit_gb: Option<i64>) -> String {
    match limit_gb {
        Some(gb) => format!("{} GB", crate::format::thousands(gb)),
        None => "Unlimited".into(),
    }
}

/// Both lists, for the Storage page and the Contacts page's drop-downs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StorageLists {
    /// Destinations by name (retired ones included, flagged).
    pub destinations: Vec<Destination>,
    /// Packages by name (retired ones included, flagged).
    pub packages: Vec<Package>,
}

/// Which list a retire, reactivate or delete is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageItem {
    /// A storage destination.
    Destination,
    /// A package.
    Package,
}

impl StorageItem {
    /// "destination" or "package".
    pub fn noun(self) -> &'static str {
        match self {
            StorageItem::Destination => "destination",
            StorageItem::Package => "package",
        }
    }
}
