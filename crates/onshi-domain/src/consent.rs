//! What a patient consents to at a facility's card reader, and how a card was registered for
//! insurance use (利用申込). Parsed once at the edge; stored and sent as their names.

/// What a patient may agree to share at a reader (each lasts 24 hours at that facility).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentKind {
    /// 薬剤情報 (`medication`).
    Medication,
    /// 特定健診情報 (`checkup`).
    Checkup,
    /// 診療情報 (`clinical`).
    Clinical,
    /// 限度額適用認定証 information, shown in the check's answer (`limit`).
    Limit,
}

impl ConsentKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [Self::Medication, Self::Checkup, Self::Clinical, Self::Limit];

    /// The name on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Medication => "medication",
            Self::Checkup => "checkup",
            Self::Clinical => "clinical",
            Self::Limit => "limit",
        }
    }

    /// From its name (exactly as [`ConsentKind::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// Where a card was registered for insurance use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationChannel {
    /// The person's portal (マイナポータル).
    Portal,
    /// A medical facility's card reader.
    Facility,
    /// A pharmacy's card reader.
    Pharmacy,
}

impl RegistrationChannel {
    /// Every channel.
    pub const ALL: [Self; 3] = [Self::Portal, Self::Facility, Self::Pharmacy];

    /// The name on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Portal => "portal",
            Self::Facility => "facility",
            Self::Pharmacy => "pharmacy",
        }
    }

    /// From its name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_nothing_else_parses() {
        for k in ConsentKind::ALL {
            assert_eq!(ConsentKind::parse(k.as_str()), Some(k));
        }
        for c in RegistrationChannel::ALL {
            assert_eq!(RegistrationChannel::parse(c.as_str()), Some(c));
        }
        assert_eq!(ConsentKind::parse("Medication"), None);
        assert_eq!(ConsentKind::parse(""), None);
        assert_eq!(RegistrationChannel::parse("reader"), None);
    }
}
