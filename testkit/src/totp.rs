//! RFC 6238 one-time codes (HMAC-SHA1, 6 digits, 30-second steps: what authenticator apps and
//! Cognito's software tokens use), for tests that sign in as a user with two-step sign-in.

use aws_lc_rs::hmac;

/// The code of the base32 `secret` (padding optional, any case) for the 30-second step that
/// holds `unix_seconds`. `None` for a secret that is not base32.
pub fn code_at(secret: &str, unix_seconds: i64) -> Option<String> {
    let key = base32(secret)?;
    let counter = u64::try_from(unix_seconds.div_euclid(30)).ok()?;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &key);
    let digest = hmac::sign(&key, &counter.to_be_bytes());
    let digest = digest.as_ref();
    let offset = usize::from(digest[19] & 0x0f);
    let number = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    Some(format!("{:06}", number % 1_000_000))
}

/// The code for now.
pub fn code_now(secret: &str) -> String {
    code_at(secret, chrono::Utc::now().timestamp()).expect("a base32 secret")
}

/// A code for now that is certainly not the right one (nor one of the steps either side).
pub fn wrong_code_now(secret: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let taken: Vec<String> = [-30, 0, 30]
        .iter()
        .filter_map(|shift| code_at(secret, now + shift))
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", (n * 7919) % 1_000_000))
        .find(|candidate| !taken.contains(candidate))
        .expect("a code that is not taken")
}

fn base32(text: &str) -> Option<Vec<u8>> {
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut bytes = Vec::new();
    for c in text.trim_end_matches('=').chars() {
        let value = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u64 - 'A' as u64,
            c @ '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 key "12345678901234567890" (base32 below), the last 6
    /// digits of its 8-digit codes.
    #[test]
    fn the_rfc_6238_test_vectors() {
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code_at(secret, time).as_deref(), Some(code), "{time}");
        }
        assert_eq!(code_at("not base32!", 59), None);
        assert_eq!(
            code_at(&secret.to_lowercase(), 59).as_deref(),
            Some("287082")
        );
    }

    #[test]
    fn a_wrong_code_is_none_of_the_accepted_ones() {
        let secret = "JBSWY3DPEHPK3PXP";
        let wrong = wrong_code_now(secret);
        assert_ne!(wrong, code_now(secret));
        assert_eq!(wrong.len(), 6);
    }
}
