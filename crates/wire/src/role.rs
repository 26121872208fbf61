//! What an enrolled device may read: the same word on the wire, in the hub's stores and
//! in the device's sync settings.

use serde::{Deserialize, Serialize};

/// What a device may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the objects encrypted to its vault.
    Field,
    /// Reads every object of the organisation.
    Coordinator,
}

impl Role {
    /// The protocol's name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Field => "field",
            Role::Coordinator => "coordinator",
        }
    }

    /// Reads `field` or `coordinator`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "field" => Some(Role::Field),
            "coordinator" => Some(Role::Coordinator),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_lowercase_words_on_the_wire() {
        for role in [Role::Field, Role::Coordinator] {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert!(serde_json::from_str::<Role>("\"admin\"").is_err());
        assert_eq!(Role::parse("Coordinator"), None);
    }
}
