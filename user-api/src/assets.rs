//! The assets bucket: badge icons and default avatars (bundled with this crate, in its
//! `assets/` folder: [`bundled`], which deployment and local provisioning upload, public under
//! `public/`), and the avatars users upload through presigned URLs. URLs are built from a
//! configured public base (the bucket's website, CloudFront, or the local endpoint).

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;

use crate::domain::PROFILE_AVATAR_SIZE;

#[derive(Debug, thiserror::Error)]
#[error("the assets bucket is unavailable: {0}")]
pub struct AssetsError(String);

#[derive(Clone)]
pub struct Assets {
    client: Client,
    bucket: String,
    base_url: String,
}

/// A presigned upload: PUT the file to `url` with exactly these headers before `expires_in`.
#[derive(Debug, Clone)]
pub struct Upload {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub key: String,
}

/// One stored version of an uploaded avatar.
#[derive(Debug, Clone)]
pub struct UploadVersion {
    pub key: String,
    pub version_id: Option<String>,
    /// The current version of its key (the others are noncurrent: replaced or deleted).
    pub latest: bool,
    pub size: i64,
    pub last_modified: Option<chrono::DateTime<chrono::Utc>>,
}

impl Assets {
    pub fn new(client: Client, bucket: impl Into<String>, base_url: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
        }
    }

    /// The public URL of a key in the bucket.
    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.base_url)
    }

    pub fn icon_url(&self, badge: &str) -> String {
        self.url(&format!("public/badges/{badge}.svg"))
    }

    pub fn default_avatar_url(&self, avatar: &str) -> String {
        self.url(&default_avatar_key(avatar, PROFILE_AVATAR_SIZE))
    }

    /// Where a user's uploaded avatars live.
    pub fn upload_prefix(user_id: &str) -> String {
        format!("public/avatars/users/{user_id}/")
    }

    /// A presigned PUT of exactly `length` bytes of `content_type` to `key`.
    pub async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        length: i64,
        expires_in: Duration,
    ) -> Result<Upload, AssetsError> {
        let config = PresigningConfig::expires_in(expires_in)
            .map_err(|error| AssetsError(error.to_string()))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(length)
            .presigned(config)
            .await
            .map_err(|error| AssetsError(error.to_string()))?;
        let headers = request
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        Ok(Upload {
            url: request.uri().to_owned(),
            headers,
            key: key.to_owned(),
        })
    }

    /// Every version of every avatar `user_id` uploaded (the bucket is versioned: a replaced or
    /// deleted avatar stays as a noncurrent version for a day), newest first per key. Delete
    /// markers hold no data and are left out.
    pub async fn list_uploads(&self, user_id: &str) -> Result<Vec<UploadVersion>, AssetsError> {
        let prefix = Self::upload_prefix(user_id);
        let mut found = Vec::new();
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(s3_error)?;
            for version in page.versions() {
                // Only what lies under the prefix, whatever the listing returns.
                let Some(key) = version.key().filter(|key| key.starts_with(&prefix)) else {
                    continue;
                };
                found.push(UploadVersion {
                    key: key.to_owned(),
                    version_id: version.version_id().map(str::to_owned),
                    latest: version.is_latest().unwrap_or(false),
                    size: version.size().unwrap_or(0),
                    last_modified: version.last_modified().and_then(|at| {
                        chrono::DateTime::from_timestamp(at.secs(), at.subsec_nanos())
                    }),
                });
            }
            if !page.is_truncated().unwrap_or(false) {
                return Ok(found);
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
            if key_marker.is_none() {
                return Ok(found);
            }
        }
    }

    /// A presigned GET of one version of `key`, valid for `expires_in`.
    pub async fn presign_download(
        &self,
        key: &str,
        version_id: Option<&str>,
        expires_in: Duration,
    ) -> Result<String, AssetsError> {
        let config = PresigningConfig::expires_in(expires_in)
            .map_err(|error| AssetsError(error.to_string()))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_owned))
            .presigned(config)
            .await
            .map_err(|error| AssetsError(error.to_string()))?;
        Ok(request.uri().to_owned())
    }

    /// Deletes every avatar `user_id` uploaded: every version of every object under the user's
    /// prefix, and every delete marker, so nothing is left in the versioned bucket. Idempotent.
    /// Returns how many versions and markers it removed.
    pub async fn delete_uploads(&self, user_id: &str) -> Result<usize, AssetsError> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};

        let prefix = Self::upload_prefix(user_id);
        let mut deleted = 0;
        // Each page is deleted before the next is listed: a listing starts from the beginning
        // of what is left, so no marker is needed. One page (1,000 versions) is the usual case:
        // one listing and one batch delete.
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .send()
                .await
                .map_err(s3_error)?;
            let versions = page
                .versions()
                .iter()
                .map(|version| (version.key(), version.version_id()));
            let markers = page
                .delete_markers()
                .iter()
                .map(|marker| (marker.key(), marker.version_id()));
            let objects = versions
                .chain(markers)
                .filter_map(|(key, version)| {
                    // Only what lies under the prefix, whatever the listing returns.
                    let key = key.filter(|key| key.starts_with(&prefix))?;
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(version.map(str::to_owned))
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>();
            if objects.is_empty() {
                return Ok(deleted);
            }
            let count = objects.len();
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|error| AssetsError(error.to_string()))?;
            let output = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(s3_error)?;
            if let Some(error) = output.errors().first() {
                return Err(AssetsError(format!(
                    "deleting {} (version {}): {}",
                    error.key().unwrap_or_default(),
                    error.version_id().unwrap_or_default(),
                    error.code().unwrap_or_default()
                )));
            }
            deleted += count;
            if !page.is_truncated().unwrap_or(false) {
                return Ok(deleted);
            }
        }
    }
}

/// An S3 call's failure, with its whole chain of causes.
fn s3_error(error: impl std::error::Error) -> AssetsError {
    AssetsError(aws_sdk_s3::error::DisplayErrorContext(&error).to_string())
}

/// The bucket key of a default avatar in one size: `public/avatars/x256/01.png`.
pub fn default_avatar_key(avatar: &str, size: u32) -> String {
    format!("public/avatars/x{size}/{avatar}.png")
}

/// A static asset bundled with the User API and uploaded to the assets bucket as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundledAsset {
    /// Its bucket key, under `public/`.
    pub key: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! bundled {
    ($key:literal, $content_type:literal) => {
        BundledAsset {
            key: concat!("public/", $key),
            content_type: $content_type,
            body: include_bytes!(concat!("../assets/", $key)),
        }
    };
}

/// Badge icons (one per badge of the catalog) and the default avatars in every size.
const BUNDLED: [BundledAsset; 17] = [
    bundled!("badges/NEW_MEMBER.svg", "image/svg+xml"),
    bundled!("badges/VERIFIED.svg", "image/svg+xml"),
    bundled!("badges/PHOTOGENIC.svg", "image/svg+xml"),
    bundled!("badges/CONVERSATION_STARTER.svg", "image/svg+xml"),
    bundled!("badges/EARLY_ADOPTER.svg", "image/svg+xml"),
    bundled!("avatars/x128/01.png", "image/png"),
    bundled!("avatars/x128/02.png", "image/png"),
    bundled!("avatars/x128/03.png", "image/png"),
    bundled!("avatars/x128/04.png", "image/png"),
    bundled!("avatars/x128/05.png", "image/png"),
    bundled!("avatars/x128/06.png", "image/png"),
    bundled!("avatars/x256/01.png", "image/png"),
    bundled!("avatars/x256/02.png", "image/png"),
    bundled!("avatars/x256/03.png", "image/png"),
    bundled!("avatars/x256/04.png", "image/png"),
    bundled!("avatars/x256/05.png", "image/png"),
    bundled!("avatars/x256/06.png", "image/png"),
];

/// Every asset the assets bucket must hold under `public/`: the badge icons the catalog names
/// and the default avatars in every size [`default_avatar_key`] builds.
pub const fn bundled() -> &'static [BundledAsset] {
    &BUNDLED
}

/// A picture to upload as a user's own avatar (a PNG of [`PROFILE_AVATAR_SIZE`] pixels, one of
/// the default avatars'): the demo data's photo.
pub const fn sample_photo() -> &'static [u8] {
    include_bytes!("../assets/avatars/x256/05.png")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AVATAR_SIZES, BADGES, DEFAULT_AVATARS};

    #[test]
    fn every_badge_and_default_avatar_has_its_bundled_asset() {
        let keys: Vec<&str> = bundled().iter().map(|asset| asset.key).collect();
        for badge in BADGES {
            let key = format!("public/badges/{}.svg", badge.name);
            assert!(keys.contains(&key.as_str()), "{key}");
        }
        for size in AVATAR_SIZES {
            for avatar in DEFAULT_AVATARS {
                let key = default_avatar_key(avatar, size);
                assert!(keys.contains(&key.as_str()), "{key}");
            }
        }
        assert_eq!(
            keys.len(),
            BADGES.len() + AVATAR_SIZES.len() * DEFAULT_AVATARS.len()
        );
    }

    #[test]
    fn the_sample_photo_is_a_png_of_the_profile_avatar_size() {
        let photo = sample_photo();
        assert!(photo.starts_with(b"\x89PNG\r\n\x1a\n"));
        let width = u32::from_be_bytes(photo[16..20].try_into().unwrap());
        assert_eq!(width, PROFILE_AVATAR_SIZE);
    }
}
