//! The one form of an email address that both APIs reserve, sign in with and look up, so that
//! spellings a reader cannot tell apart are one address.
//!
//! The address is trimmed, put into Unicode Normalization Form KC and lowercased: fullwidth
//! letters (`ａｄａ@example.com`), a fullwidth `＠`, ligatures (`ﬀ`), the Kelvin sign and the
//! like become the ASCII they stand for, and case never matters. Letters NFKC leaves apart
//! (Cyrillic `а` and Latin `a`, say) stay apart: they are different addresses to a mail server
//! too.

use unicode_normalization::UnicodeNormalization;

/// `raw` trimmed, NFKC-normalised and lowercased. Validation comes after this, on the result.
/// Normalising the result again changes nothing.
pub fn normalise(raw: &str) -> String {
    // Lowercasing can leave text that NFKC would change again, and NFKC can leave white space
    // at an end (`¨` is a space and a combining diaeresis): fold and trim until nothing
    // changes, which takes two or three passes.
    let mut current = raw.trim().to_owned();
    for _ in 0..4 {
        let next = fold(&current).trim().to_owned();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

fn fold(text: &str) -> String {
    text.nfkc().collect::<String>().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn look_alikes_become_the_address_they_show() {
        for raw in [
            "ada@example.com",
            " Ada@Example.COM ",
            "ａｄａ@example.com",
            "ada@ｅｘａｍｐｌｅ.ｃｏｍ",
            "ada＠example.com",
            "ＡＤＡ@Example.com",
        ] {
            assert_eq!(normalise(raw), "ada@example.com", "{raw:?}");
        }
        assert_eq!(normalise("\u{FB00}@example.com"), "ff@example.com");
        assert_eq!(normalise("\u{212A}@example.com"), "k@example.com");
        // NFKC makes a space of a diaeresis' spacing form: trimmed, and stable (found by the
        // property test below in CI).
        assert_eq!(normalise("\u{A8}"), normalise(&normalise("\u{A8}")));
        assert_eq!(
            normalise("\u{0430}da@example.com"),
            "\u{0430}da@example.com",
            "Cyrillic а is another letter"
        );
    }

    proptest! {
        #[test]
        fn normalising_is_idempotent_and_lowercase(raw in "\\PC{0,40}") {
            let once = normalise(&raw);
            prop_assert_eq!(&normalise(&once), &once);
            prop_assert_eq!(&once.to_lowercase(), &once);
        }
    }
}
