//! Passphrase strength, judged by zxcvbn (Dropbox's estimator), not by hand rules.

use secrecy::{ExposeSecret, SecretString};

/// A passphrase refused as too weak, with the reason (never the passphrase itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("passphrase too weak: {0}")]
pub struct WeakPassphrase(pub String);

/// The lowest zxcvbn score (0–4) accepted for a vault passphrase: 3 is "safely
/// unguessable: moderate protection from offline slow-hash scenario", which is what a
/// seized laptop with an scrypt-protected key file is.
pub const MIN_SCORE: u8 = 3;

/// How strong a passphrase is, for a strength meter.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Strength {
    /// zxcvbn's score, 0 (weakest) to 4.
    pub score: u8,
    /// True when the score reaches [`MIN_SCORE`].
    pub acceptable: bool,
    /// Why it is weak, if it is.
    pub warning: Option<String>,
    /// What would make it stronger.
    pub suggestions: Vec<String>,
}

/// Estimates a passphrase's strength. `context` holds words an attacker would try first
/// (the app's name, the user's name).
pub fn strength(passphrase: &SecretString, context: &[&str]) -> Strength {
    let mut inputs = vec!["custos", "vault", "passphrase"];
    inputs.extend_from_slice(context);
    let e = zxcvbn::zxcvbn(passphrase.expose_secret(), &inputs);
    let score = u8::from(e.score());
    let (warning, suggestions) = match e.feedback() {
        Some(f) => (
            f.warning().map(|w| w.to_string()),
            f.suggestions().iter().map(|s| s.to_string()).collect(),
        ),
        None => (None, Vec::new()),
    };
    Strength {
        score,
        acceptable: score >= MIN_SCORE,
        warning,
        suggestions,
    }
}

/// Refuses a passphrase that is too weak, with the reason.
pub fn require_strong(passphrase: &SecretString) -> Result<(), WeakPassphrase> {
    let s = strength(passphrase, &[]);
    if s.acceptable {
        return Ok(());
    }
    let mut reason = format!("it scores {} of 4, at least {MIN_SCORE} is needed", s.score);
    if let Some(w) = s.warning {
        reason.push_str(". ");
        reason.push_str(&w);
    }
    if let Some(first) = s.suggestions.first() {
        reason.push_str(". ");
        reason.push_str(first);
    }
    if reason.ends_with('.') {
        reason.pop();
    }
    Err(WeakPassphrase(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn weak_passphrases_are_refused_with_a_reason() {
        for weak in [
            "password",
            "123456",
            "custos2024",
            "qwertyuiop",
            "aaaaaaaaaaaa",
        ] {
            let err = require_strong(&p(weak)).unwrap_err();
            assert!(
                err.to_string().starts_with("passphrase too weak: "),
                "{weak}"
            );
            assert!(err.to_string().contains("of 4"));
        }
    }

    #[test]
    fn long_unusual_passphrases_pass() {
        require_strong(&p("lantern orchard velvet quarry 1987 sparrow")).unwrap();
        let s = strength(&p("lantern orchard velvet quarry 1987 sparrow"), &[]);
        assert!(s.score >= MIN_SCORE && s.acceptable);
    }

    #[test]
    fn the_reason_never_repeats_the_passphrase() {
        let secret = "Zq";
        let err = require_strong(&p(secret)).unwrap_err().to_string();
        assert!(!err.contains(secret));
    }
}
