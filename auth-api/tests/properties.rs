//! Properties of the Auth API's input parsers over generated input: they never panic, and what
//! they accept has the documented shape (lowercase emails; names whose handle is `@` and
//! letters or digits; passwords within the policy; TOTP codes of 6 digits).

use proptest::prelude::*;
use roster_auth_api::domain::{
    Email, IdempotencyKey, MfaSessionText, Name, NewPassword, PresentedPassword, SourceSystem,
    TotpCode,
};

proptest! {
    #[test]
    fn accepted_emails_are_lowercase_with_one_at(raw in "\\PC{0,80}|[a-zA-Z0-9._%+-]{1,20}@[a-zA-Z0-9-]{1,10}\\.[a-z]{2,4}") {
        if let Ok(email) = Email::parse(&raw) {
            let email = email.as_str();
            prop_assert_eq!(email, email.to_lowercase());
            prop_assert_eq!(email.matches('@').count(), 1);
            prop_assert!(email.len() <= 254);
        }
    }

    #[test]
    fn accepted_names_give_handles_of_letters_and_digits(raw in "\\PC{0,40}|[a-zA-Z][a-zA-Z0-9_.-]{2,29}") {
        if let Ok(name) = Name::parse(&raw) {
            let handle = name.handle();
            prop_assert!(handle.as_str().starts_with('@'));
            prop_assert!(handle.as_str()[1..].bytes().all(|b| b.is_ascii_alphanumeric()));
            prop_assert_eq!(name.key(), name.as_str().to_ascii_lowercase());
            prop_assert!((3..=30).contains(&name.as_str().len()));
        }
    }

    #[test]
    fn accepted_passwords_meet_the_policy(raw in "\\PC{0,300}") {
        if NewPassword::parse(&raw).is_ok() {
            let length = raw.chars().count();
            prop_assert!((10..=256).contains(&length));
            prop_assert!(raw.chars().any(char::is_lowercase));
            prop_assert!(raw.chars().any(char::is_uppercase));
            prop_assert!(raw.chars().any(|c| c.is_ascii_digit()));
        }
        let _ = PresentedPassword::parse(&raw);
    }

    #[test]
    fn other_inputs_never_panic(raw in "\\PC{0,200}") {
        let _ = (SourceSystem::parse(Some(&raw)), IdempotencyKey::parse(&raw));
    }

    #[test]
    fn accepted_totp_codes_are_six_ascii_digits(raw in "\\PC{0,12}|[0-9 ]{4,8}") {
        if let Ok(code) = TotpCode::parse(&raw) {
            prop_assert_eq!(code.expose().len(), 6);
            prop_assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        }
        if let Ok(session) = MfaSessionText::parse(&raw) {
            prop_assert!(session.expose().bytes().all(|b| b.is_ascii_graphic()));
        }
    }
}
