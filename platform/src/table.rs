//! How a DynamoDB table is declared: its name, keys, indexes, TTL attribute and stream view, as
//! plain data.
//! Each table has one owner: the API crate whose adapter reads and writes it declares its
//! [`TableSpec`] beside its item types (`roster_auth_api::store::TABLE`,
//! `roster_user_api::store::TABLE`); the template's parity check, local provisioning and the
//! operations tool read it from there. No business rules, no AWS calls.

/// A DynamoDB table: string keys, on-demand, with a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// The name after the stack prefix.
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: Option<&'static str>,
    pub indexes: &'static [IndexSpec],
    /// Attribute holding an epoch-seconds expiry, for records that may vanish on their own.
    pub ttl_attribute: Option<&'static str>,
    /// What the table's stream carries of each change (its projector reads it).
    pub stream_view: StreamView,
}

/// A stream's view type: what each of its records carries of the changed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamView {
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

impl StreamView {
    /// The name DynamoDB and CloudFormation give it (`StreamViewType`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeysOnly => "KEYS_ONLY",
            Self::NewImage => "NEW_IMAGE",
            Self::OldImage => "OLD_IMAGE",
            Self::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }
}

/// A global secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: Option<&'static str>,
    /// Which attributes the index holds besides the keys.
    pub projection: Projection,
}

/// What an index holds of each item besides the table's and the index's keys. Every index
/// write costs as much as the projected item is large, and an update of a projected
/// attribute is an index write: project only what the index's readers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    /// The whole item.
    All,
    /// The keys only.
    KeysOnly,
    /// The keys and these attributes.
    Include(&'static [&'static str]),
}

impl Projection {
    /// The name DynamoDB and CloudFormation give it (`ProjectionType`).
    pub fn type_name(self) -> &'static str {
        match self {
            Self::All => "ALL",
            Self::KeysOnly => "KEYS_ONLY",
            Self::Include(_) => "INCLUDE",
        }
    }

    /// The non-key attributes of an `INCLUDE` projection (none for the others).
    pub fn non_key_attributes(self) -> &'static [&'static str] {
        match self {
            Self::Include(attributes) => attributes,
            Self::All | Self::KeysOnly => &[],
        }
    }
}
